// The public API of Sluice's queue engine. Names here are a contract (see DESIGN.md).
export { connect, pickDriver, type Connection, type ConnectOptions, type Db, type Driver } from './db.js';
export { migrate, MIGRATIONS_FOLDER } from './migrate.js';
export { defineJob, registeredJob, registeredTypes, type JobContext, type JobDefinition, type JobHandler, type JobOptions } from './jobs.js';
export { enqueue, enqueueMany, enqueueOptionsSchema, type EnqueueItem, type EnqueueOptions } from './enqueue.js';
export { drain, drainOptionsSchema, type DrainOptions, type DrainSummary } from './drain.js';
export { queueStats, type QueueStats } from './stats.js';
export { listJobs, getJob, retryJob, cancelJob, type JobView, type ListJobsOptions } from './admin.js';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './retry.js';
export { config, parseConfig, resetConfig, DRAIN_DEFAULTS, JOB_DEFAULTS, type Config } from './config.js';
export { jobs, JOB_STATUSES, type JobStatus } from './schema.js';
export {
  SluiceError,
  ValidationError,
  UnknownJobTypeError,
  PayloadTooLargeError,
  PermanentError,
  RetryLaterError,
  JobNotFoundError,
  JobStateError,
  loggable,
} from './errors.js';
