/** @module sluice/engine */
// The package's second entry (`sluice/engine`): the queue engine's free functions, for scripts, tests and
// apps that drive Sluice without an instance (their own drain loop, a migration step, one-off admin).
// Each takes the database first. lib/queue/index.ts is the engine's face to the layers above it inside
// this package and exports more; only the names here are public.
export { connect, pickDriver, type Connection, type ConnectOptions, type Db, type Driver } from './queue/db.js';
export { migrate, type MigrateOptions } from './queue/migrate.js';
export {
  defineJob, MAX_FLOW_LIMIT,
  type FlowLimit, type JobContext, type JobDefinition, type JobHandler, type JobOptions, type JobPayload, type JobResult, type JobTypeName,
  type InvokeOptions, type WaitForEventOptions,
} from './queue/core/jobs.js';
export { ChildJobError } from './queue/core/waits.js';
export { sendEvent, type EventInput, type SendEventResult } from './queue/core/events.js';
export { enqueue, enqueueMany, type EnqueueContext, type EnqueueItem, type EnqueueManyResult, type EnqueueOptions, type EnqueueResult } from './queue/core/enqueue.js';
export { drain, type DrainOptions, type DrainSummary } from './queue/core/drain.js';
export { LeaseLostError, StepResultError, type StepOptions } from './queue/core/steps.js';
export { jobResult, type JobResultStatus, type ResultOptions } from './queue/core/results.js';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './queue/core/retry.js';
export { defineSchedule, type CatchUp, type ScheduleDefinition } from './queue/schedules/schedules.js';
export { queueStats, type QueueStats } from './queue/ops/stats.js';
export { queueHistory, type QueueHistory } from './queue/ops/history-view.js';
export { getJob, retryJob, cancelJob, listDeadJobs, retryDeadJobs, cancelDeadJobs, BULK_LIMIT, type BulkResult } from './queue/ops/admin.js';
export type { AttemptView, ChildView, JobDetail, JobView, ReplayView, StepView } from './queue/ops/job-view.js';
export { exportJobs, listJobs, replayJob, replayJobs, type ListJobsOptions, type ReplayFilter, type RunFilter } from './queue/ops/runs.js';
export { pauseType, resumeType, pausedTypes, type PausedType } from './queue/ops/pause.js';
export { appScope, type AppScope } from './queue/app.js';
export { JOB_STATUSES, type JobStatus } from './queue/schema.js';
export {
  SluiceError, ValidationError, UnknownJobTypeError, PayloadTooLargeError, JobNotFoundError, JobStateError, MisconfiguredError,
  PermanentError, RetryLaterError, JobCancelledError,
} from './queue/errors.js';
