import type {
  AppScope, BulkResult, Config, Db, DrainOptions, DrainSummary, EnqueueItem, EnqueueManyResult, JobDetail, JobRegistry, JobResultStatus, JobView, ListJobsOptions, PausedType,
  QueueHistory, QueueStats, ReplayFilter, RunFilter, SendEventResult, TypeView,
} from '../queue/index.js';
import type { WakeRuntime } from '../wake/runtime.js';
import type { ScheduleView } from '../wake/schedules.js';
import type { WakeOptions, WakeSummary } from '../wake/wake.js';

/**
 * What Sluice's own routes (these and the dashboard's) need of the instance that serves them. The
 * instance (lib/sluice.ts) satisfies it and hands itself to every request as `c.var.sluice`, so the
 * routes call down into what they are given and never import the instance. Each call means what the
 * instance's own documentation says (Sluice in lib/sluice.ts).
 */
export interface RouteHost {
  readonly jobs: JobRegistry;
  readonly db: Db;
  settings(): Config;
  scope(): AppScope;
  enqueueMany(items: EnqueueItem[]): Promise<EnqueueManyResult>;
  drain(options?: DrainOptions): Promise<DrainSummary>;
  kick(options?: { runtime?: WakeRuntime; deadline?: number }): Promise<void>;
  wake(options: WakeOptions): Promise<WakeSummary>;
  stats(): Promise<QueueStats>;
  result(id: string, options?: { timeoutMs?: number }): Promise<JobResultStatus>;
  sendEvent(name: string, event?: { key?: string; data?: unknown }): Promise<SendEventResult>;
  admin: AdminCalls;
}

/** The admin API of an instance (`sluice.admin`), as its routes and the app's code call it. */
export interface AdminCalls {
  /** A page of jobs by a filter (status, type, time range, idempotency key, id), newest first; `nextCursor` pages on. */
  list(options?: ListJobsOptions): Promise<{ jobs: JobView[]; nextCursor: string | null }>;
  /** Every job of a filter (at most `max`, default 100,000), newest first, page by page: for JSON lines. */
  export(filter?: RunFilter, max?: number): AsyncIterable<JobView>;
  /** A job with its attempts, steps, child jobs and replays. */
  get(id: string): Promise<JobDetail>;
  /** Runs a completed, dead or cancelled job again as a new job (replayOf names it); `fromStep`: its steps before that one are kept. */
  replay(id: string, options?: { fromStep?: string }): Promise<JobView>;
  /** Replays the ended jobs of a filter (status completed, dead or cancelled), up to BULK_LIMIT a call. */
  replayMany(filter: ReplayFilter): Promise<BulkResult>;
  retry(id: string): Promise<JobView>;
  /** Cancels a pending, waiting or dead job at once; a running one is stopped by its drain's next heartbeat (cancelRequestedAt). Its unfinished child jobs go with it. */
  cancel(id: string): Promise<JobView>;
  /** The newest dead jobs (of `type`; at most `limit`, default 50) and how many there are. */
  dead(options?: { type?: string; limit?: number }): Promise<{ jobs: JobView[]; total: number }>;
  /** Every dead job (of `type`) back to pending, up to BULK_LIMIT (10,000) a call: `more` says to call again. */
  retryDead(options?: { type?: string }): Promise<BulkResult>;
  /** Every dead job (of `type`) deleted, up to BULK_LIMIT a call. */
  cancelDead(options?: { type?: string }): Promise<BulkResult>;
  /** The last `rangeMs` of history, a point every `stepSeconds` (default 60): depth, counts, run-time and lag percentiles. */
  history(rangeMs: number, stepSeconds?: number): Promise<QueueHistory>;
  /** Pauses one of this instance's types for every drain (UnknownJobTypeError for another). */
  pause(type: string): Promise<PausedType>;
  /** Resumes a paused type (any name: a type since removed from the code can be resumed too). */
  resume(type: string): Promise<{ type: string; resumed: boolean }>;
  /** This instance's types and any other paused one: whether (and since when) it is paused, its flow limits and what holds them. */
  types(): Promise<TypeView[]>;
  /** The schedules in the code, each with its next slot and the last one enqueued. */
  schedules(): Promise<ScheduleView[]>;
}
