/** @module sluice */
// The package's main entry (`sluice`): the instance, and the engine beneath it. Names are a contract (DESIGN.md).
export { createSluice, type Sluice, type SluiceOptions } from './sluice.js';
export { type RouteHandler, type RouteTable, type SluiceBindings, type SluiceEnv } from './http/app.js';
export { HttpError, errorResponse } from './http/errors.js';
export { jsonBody, parse } from './http/body.js';
export { bearerMatches } from './http/auth.js';
export {
  appName, appScope, connect, pickDriver, migrate, MIGRATIONS_FOLDER, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, defineJob, jobRegistry, enqueue, enqueueMany, enqueueOptionsSchema,
  defineSchedule, enqueueDueSlots, drain, drainOptionsSchema, queueStats, STATS_LIVE_LIMIT, listJobs, getJob, retryJob, cancelJob, pauseType, resumeType, pausedTypes, backoffDelayMs, DEFAULT_BACKOFF,
  config, parseConfig, parseSettings, resetConfig, DRAIN_DEFAULTS, JOB_DEFAULTS, jobs, JOB_STATUSES, MAX_JSON_DEPTH, jsonDepthExceeds, sluiceSchema,
  SluiceError, ValidationError, UnknownJobTypeError, PayloadTooLargeError, PermanentError, RetryLaterError,
  JobNotFoundError, JobStateError, MisconfiguredError, LeaseLostError, StepResultError, loggable, typeViews, MAX_FLOW_LIMIT,
  type AppScope, type Connection, type ConnectOptions, type Db, type Driver, type JobContext, type JobDefinition, type JobHandler,
  type JobOptions, type JobRegistry, type EnqueueContext, type EnqueueItem, type EnqueueOptions, type DrainOptions,
  type MigrateOptions, type DrainSummary, type QueueStats, type JobView, type JobDetail, type StepView, type StepOptions, type TypeView, type FlowLimitView, type ListJobsOptions, type PausedType, type ScheduleDefinition, type CatchUp, type BackoffPolicy, type Config, type JobStatus,
} from './queue/index.js';
