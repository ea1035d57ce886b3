/** @module sluice */
// The package's main entry (`sluice`): the instance, job and schedule definitions, the errors and signals a
// handler or caller meets, and the types their signatures use. The engine's free functions are the second
// entry, `sluice/engine` (lib/engine.ts). Names are a contract (DESIGN.md).
export { createSluice, type RouteHandler, type RouteTable, type Sluice, type SluiceEnqueueItem, type SluiceOptions } from './sluice.js';
export { memoryHintStore, runtimeCacheHintStore, type DueHint, type HintStore } from './wake/hint.js';
export type { DrainReason, DrainStart, StartDrain, WakeRuntime } from './wake/runtime.js';
export type { WakeOptions, WakeSummary } from './wake/wake.js';
export type { AdminCalls } from './http/host.js';
export type { ScheduleView } from './wake/schedules.js';
// For an app's own routes: bad input answered 4xx (zod issues), never a 500, as Sluice's routes answer it.
export { HttpError, errorResponse } from './http/errors.js';
export { jsonBody } from './http/body.js';
export type { Method, SluiceBindings, SluiceEnv } from './http/app.js';
export {
  defineJob, defineSchedule,
  SluiceError, ValidationError, UnknownJobTypeError, PayloadTooLargeError, JobNotFoundError, JobStateError, MisconfiguredError,
  PermanentError, RetryLaterError, LeaseLostError, StepResultError, JobCancelledError, ChildJobError,
  type InvokeOptions, type WaitForEventOptions, type EventInput, type SendEventResult,
  type AppScope, type BackoffPolicy, type BulkResult, type CatchUp, type Config, type Db, type DrainOptions, type DrainSummary, type Driver,
  type EnqueueManyResult, type EnqueueOptions, type EnqueueResult, type FlowLimit, type FlowLimitView, type JobContext, type JobDefinition, type JobDetail, type JobHandler, type JobOptions,
  type JobPayload, type JobRegistry, type JobResult, type JobResultStatus, type JobStatus, type JobTypeName, type JobView, type ListJobsOptions, type PausedType, type ReplayFilter, type RunFilter, type AttemptView, type ReplayView,
  type QueueHistory, type QueueStats, type TypeTimes, type ScheduleDefinition, type StepOptions, type StepView, type ChildView, type TypeView,
} from './queue/index.js';
