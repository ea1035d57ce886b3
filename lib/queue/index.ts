/** @module sluice/engine */
// The public API of Sluice's queue engine. Names here are a contract (see DESIGN.md).
export { appName, appScope, type AppScope } from './app.js';
export { connect, pickDriver, type Connection, type ConnectOptions, type Db, type Driver } from './db.js';
export { migrate, MIGRATIONS_FOLDER, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, type MigrateOptions } from './migrate.js';
export { defineJob, jobRegistry, MAX_FLOW_LIMIT, type FlowLimit, type JobContext, type JobDefinition, type JobHandler, type JobOptions, type JobRegistry } from './jobs.js';
export { enqueue, enqueueMany, enqueueOptionsSchema, type EnqueueContext, type EnqueueItem, type EnqueueOptions } from './enqueue.js';
export { jsonDepthExceeds, MAX_JSON_DEPTH } from './json.js';
export { drain, drainOptionsSchema, type DrainOptions, type DrainSummary } from './drain.js';
export type { Housekeeping, LivePass } from './pass-types.js';
export { queueHistory, type QueueHistory, type TypeTimes } from './history-view.js';
export { HISTORY_BUCKETS_MS, percentile, addHistograms, type HistoryRow } from './history.js';
export { alertsCheck, alertUnsent, ALERT_NAMES, type AlertChange, type AlertName, type AlertThresholds } from './queries-alerts.js';
export type { HousekeepingParams, HousekeepingReport, QueueTotals } from './queries-housekeeping.js';
export { healthProblems, queueStats, toQueueStats, STATS_LIVE_LIMIT, type HealthThresholds, type QueueStats } from './stats.js';
export { listJobs, getJob, retryJob, cancelJob, listDeadJobs, retryDeadJobs, cancelDeadJobs, BULK_LIMIT, type BulkResult, type JobDetail, type JobView, type ListJobsOptions, type StepView } from './admin.js';
export { LeaseLostError, StepResultError, type StepOptions } from './steps.js';
export { pauseType, resumeType, pausedTypes, type PausedType } from './pause.js';
export { typeViews, type FlowLimitView, type TypeView } from './type-view.js';
export { defineSchedule, dueSlots, enqueueDueSlots, nextSlot, ON_TIME_MS, type CatchUp, type ScheduleDefinition } from './schedules.js';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './retry.js';
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
  MisconfiguredError,
  loggable,
} from './errors.js';
