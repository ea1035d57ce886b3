// The queue engine's face to the layers above it (wake, HTTP, dashboard, the instance, the CLI), and to
// tests and benchmarks. The package's public engine entry is lib/engine.ts (`sluice/engine`), a subset.
export { appName, appScope, type AppScope } from './app.js';
export { connect, pickDriver, type Connection, type ConnectOptions, type Db, type Driver } from './db.js';
export { migrate, MIGRATIONS_FOLDER, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, type MigrateOptions } from './migrate.js';
export { defineJob, jobRegistry, MAX_FLOW_LIMIT, type FlowLimit, type JobContext, type JobDefinition, type JobHandler, type JobNamed, type JobOptions, type JobPayload, type JobRegistry, type JobResult, type JobTypeName, type InvokeOptions, type WaitForEventOptions } from './core/jobs.js';
export { ChildJobError } from './core/waits.js';
export { sendEvent, eventSchema, type EventInput, type SendEventResult } from './core/events.js';
export { enqueue, enqueueMany, enqueueOptionsSchema, type EnqueueContext, type EnqueueItem, type EnqueueManyResult, type EnqueueOptions, type EnqueueResult } from './core/enqueue.js';
export { jsonDepthExceeds, MAX_JSON_DEPTH } from './json.js';
export { drain, drainOptionsSchema, type DrainOptions, type DrainSummary } from './core/drain.js';
export type { Housekeeping, LivePass } from './core/pass-types.js';
export { queueHistory, type QueueHistory, type TypeTimes } from './ops/history-view.js';
export { HISTORY_BUCKETS_MS, percentile, addHistograms, type HistoryRow } from './housekeeping/history.js';
export { alertsCheck, alertUnsent, ALERT_NAMES, type AlertChange, type AlertName, type AlertThresholds } from './housekeeping/queries-alerts.js';
export type { HousekeepingParams, HousekeepingReport, QueueTotals } from './housekeeping/queries-housekeeping.js';
export { healthProblems, queueStats, toQueueStats, STATS_LIVE_LIMIT, type HealthThresholds, type QueueStats } from './ops/stats.js';
export { getJob, retryJob, cancelJob, listDeadJobs, retryDeadJobs, cancelDeadJobs, BULK_LIMIT, type BulkResult } from './ops/admin.js';
export type { AttemptView, ChildView, JobDetail, JobView, ReplayView, StepView } from './ops/job-view.js';
export { exportJobs, listJobs, listJobsSchema, replayFilterSchema, replayJob, replayOptionsSchema, replayJobs, runFilterSchema, type ListJobsOptions, type ReplayFilter, type RunFilter } from './ops/runs.js';
export { completedPrune } from './housekeeping/queries-retention.js';
export { LeaseLostError, StepResultError, type StepOptions } from './core/steps.js';
export { jobResult, MAX_RESULT_WAIT_MS, type JobResultStatus, type ResultOptions } from './core/results.js';
export { pauseType, resumeType, pausedTypes, type PausedType } from './ops/pause.js';
export { typeViews, type FlowLimitView, type TypeView } from './ops/type-view.js';
export { defineSchedule, dueSlots, enqueueDueSlots, nextSlot, ON_TIME_MS, type CatchUp, type ScheduleDefinition } from './schedules/schedules.js';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './core/retry.js';
export { config, parseConfig, parseSettings, resetConfig, DEFAULT_SETTINGS, DRAIN_DEFAULTS, JOB_DEFAULTS, type Config } from './config.js';
export { jobs, sluiceSchema, JOB_STATUSES, type JobStatus } from './schema.js';
export {
  SluiceError,
  ValidationError,
  UnknownJobTypeError,
  PayloadTooLargeError,
  PermanentError,
  RetryLaterError,
  JobNotFoundError,
  JobStateError,
  JobCancelledError,
  MisconfiguredError,
  loggable,
} from './errors.js';
