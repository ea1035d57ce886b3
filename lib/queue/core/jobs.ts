import type { z } from 'zod';
import { JOB_DEFAULTS } from '../config.js';
import type { Db } from '../db.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './retry.js';
import type { StepOptions } from './steps.js';

/** What a handler knows about the run it is in, and its tools for long and idempotent work. */
export interface JobContext {
  job: { id: string; type: string; attempt: number; maxAttempts: number; createdAt: Date };
  /**
   * Fires at the job's timeout, at the drain's deadline, when the lease is lost, or when the job is
   * cancelled (its reason is then a JobCancelledError). Pass it on to fetch().
   */
  signal: AbortSignal;
  db: Db;
  /**
   * A durable step: runs `fn` once per job and name, stores its JSON result, and on any later run of
   * the job returns that result without running `fn`. `fn` gets the database, or with
   * `{ transaction: true }` a transaction that also records the step, so its writes and the mark
   * commit together. The result comes back as JSON gives it (a Date becomes a string).
   */
  step<T>(name: string, fn: (db: Db) => Promise<T> | T, options?: StepOptions): Promise<T>;
  /** A durable sleep: the job is handed back (attempt returned) and resumes after `ms`, in a later drain. */
  sleep(name: string, ms: number): Promise<void>;
  /** Renews the job's lease now (the drain renews it by itself while the handler's event loop turns). Rejects once the lease is lost. */
  heartbeat(): Promise<void>;
  /**
   * Reports progress (any JSON value, at most 16 KB of it; a TypeError otherwise): the latest value is
   * written with the drain's next heartbeat (within half a second), never a statement per call, and
   * shown by admin.get(), GET /api/jobs/:id and its event stream. Resolves at once.
   */
  progress(value: unknown): Promise<void>;
  /**
   * Enqueues a child job once per job and `name` (durable like a step) and resolves to its result, typed
   * by its definition. While the child runs the job waits: its run ends, holding no drain slot or
   * connection, and the child's end makes it due at once, to replay to here. Start several, then
   * `Promise.all` them: every child is enqueued before the job waits. A child that goes dead or is
   * cancelled rejects with a ChildJobError the handler can catch. The child's type must be one of the app's jobs.
   */
  invoke<J extends JobDefinition>(name: string, job: J, payload: JobPayload<J>, options?: InvokeOptions): Promise<JobResult<J>>;
  /**
   * Waits for an event (sluice.sendEvent) of this name and key, sent at any time since the job was
   * enqueued, that no earlier wait of the job took; resolves to its data, or to null once `timeoutMs`
   * (counted from when the job first reached this wait) passes. The job waits meanwhile, as for invoke.
   */
  waitForEvent<T = unknown>(name: string, options: WaitForEventOptions): Promise<T | null>;
}

/** A child's own options (its defaults are its type's; debounce and idempotency keys make no sense here: it is enqueued once). */
export interface InvokeOptions {
  /** Earliest start, in ms from now. */
  delayMs?: number;
  /** Earliest start. */
  runAt?: Date | string;
  priority?: number;
  maxAttempts?: number;
}

export interface WaitForEventOptions {
  /** The event's name, as sendEvent gives it. */
  event: string;
  /** Which one: as sendEvent gives it (an order id, an approval token). Default ''. */
  key?: string;
  /** How long to wait, in ms, from 1 to a year, from the first time the job reached this wait. A timeout is noticed by the next cron tick. */
  timeoutMs: number;
}

/** A job's function: what it resolves to is the job's result (void for most jobs). */
export type JobHandler<P, R = void> = (payload: P, ctx: JobContext) => Promise<R>;

export interface JobOptions<P = unknown> {
  /** Started runs before the job goes dead. Default 5. */
  maxAttempts?: number;
  /** A run is aborted and counted as failed after this long. Default 30 s. */
  timeoutMs?: number;
  /** Retry delays. Default 1 s doubling to at most 1 h, with jitter. */
  backoff?: Partial<BackoffPolicy>;
  /** Higher runs first. Default 0. */
  priority?: number;
  /**
   * At most `limit` jobs of this type running at once, across every drain, per key: `key(payload)`
   * (e.g. the account an API call is for), or for the whole type without one. Default: no limit.
   */
  concurrency?: { limit: number; key?: (payload: P) => string };
  /**
   * At most `limit` starts of this type in any `periodMs`, across every drain, per key or for the
   * whole type. Jobs over the limit wait, pending, with their attempts untouched. Default: no limit.
   */
  rateLimit?: { limit: number; periodMs: number; key?: (payload: P) => string };
  /**
   * Claims this type's jobs round-robin across `key(payload)` (a tenant, an account), so one key's
   * backlog does not hold the others' jobs behind it. Default: one queue in priority and due order.
   */
  fairness?: { key: (payload: P) => string };
}

/** A flow limit as a definition holds it: `key` is null for one limit over the whole type. */
export interface FlowLimit {
  limit: number;
  /** Rate limits only: the window, in ms. */
  periodMs: number | null;
  key: ((payload: unknown) => string) | null;
}

/**
 * A job type: `T` is its name as a literal type, `S` its payload schema and `R` its result (what its
 * `result` schema outputs, else what its handler resolves to), so an instance built from definitions
 * types its enqueue and result calls by them.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType, T extends string = string, R = unknown> {
  type: T;
  payload: S;
  /** Checks what the handler resolves to before it is stored; null: stored as returned. */
  result: z.ZodType | null;
  // Method syntax on purpose: it lets a JobDefinition<typeof schema> sit in a JobDefinition[] list.
  handler(payload: z.output<S>, ctx: JobContext): Promise<R>;
  maxAttempts: number;
  timeoutMs: number;
  backoff: BackoffPolicy;
  priority: number;
  concurrency: FlowLimit | null;
  rateLimit: FlowLimit | null;
  fairness: { key: (payload: unknown) => string } | null;
}

const int32 = (name: string, value: number) => {
  if (!Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1) throw new TypeError(`${name} must be a 32-bit integer, got ${value}`);
  return value;
};

// Node's timers misfire (fire at once) above 2^31 - 1 ms, about 24.8 days.
const positiveInt = (name: string, value: number, max = 2 ** 31 - 1) => {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new TypeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
};

/** Most concurrent runs or starts per period a flow limit may allow (each is a row of sluice.flow_slots). */
export const MAX_FLOW_LIMIT = 10_000;

function flowLimit(name: string, spec: { limit: number; periodMs?: number; key?: (payload: never) => string } | undefined, rate: boolean): FlowLimit | null {
  if (spec === undefined) return null;
  if (spec.key !== undefined && typeof spec.key !== 'function') throw new TypeError(`${name}.key must be a function of the payload`);
  return {
    limit: positiveInt(`${name}.limit`, spec.limit, MAX_FLOW_LIMIT),
    // A day at most: a rate slot is a row held for one period.
    periodMs: rate ? positiveInt(`${name}.periodMs`, spec.periodMs as number, 86_400_000) : null,
    key: (spec.key as ((payload: unknown) => string) | undefined) ?? null,
  };
}

function fairnessOf(spec: { key: (payload: never) => string } | undefined): JobDefinition['fairness'] {
  if (spec === undefined) return null;
  if (typeof spec?.key !== 'function') throw new TypeError('fairness.key must be a function of the payload');
  return { key: spec.key as (payload: unknown) => string };
}

/**
 * Declares a job type. Nothing is registered globally: the definitions an app passes to createSluice()
 * (or to drain() and enqueue()) are its registry, so two instances, or two test files, never share one.
 * The type name stays a literal type and the handler's result type is kept, so calls through
 * the instance are checked against them at compile time.
 */
export function defineJob<const T extends string, S extends z.ZodType, RS extends z.ZodType>(
  // With a result schema the handler must resolve to its input: the job's result is its output.
  spec: { type: T; payload: S; result: RS; handler: JobHandler<z.output<S>, z.input<RS>> } & JobOptions<z.output<S>>,
): JobDefinition<S, T, z.output<RS>>;
export function defineJob<const T extends string, S extends z.ZodType, R = void>(
  // Flow limits' key functions see the payload as the schema outputs it.
  spec: { type: T; payload: S; result?: undefined; handler: JobHandler<z.output<S>, R> } & JobOptions<z.output<S>>,
): JobDefinition<S, T, R>;
export function defineJob(
  spec: { type: string; payload: z.ZodType; result?: z.ZodType; handler: JobHandler<unknown, unknown> } & JobOptions,
): JobDefinition {
  if (!/^[\w.:-]{1,100}$/.test(spec.type)) {
    throw new TypeError(`job type "${spec.type}" must be 1-100 letters, digits, '_', '-', '.' or ':'`);
  }
  const backoff = { ...DEFAULT_BACKOFF, ...spec.backoff };
  positiveInt('backoff.baseMs', backoff.baseMs);
  positiveInt('backoff.maxMs', backoff.maxMs);
  if (spec.result !== undefined && typeof (spec.result as { safeParse?: unknown })?.safeParse !== 'function') throw new TypeError('result must be a zod schema');
  const definition: JobDefinition = {
    type: spec.type,
    payload: spec.payload,
    result: spec.result ?? null,
    handler: spec.handler,
    maxAttempts: positiveInt('maxAttempts', spec.maxAttempts ?? JOB_DEFAULTS.maxAttempts),
    timeoutMs: positiveInt('timeoutMs', spec.timeoutMs ?? JOB_DEFAULTS.timeoutMs),
    backoff,
    priority: int32('priority', spec.priority ?? JOB_DEFAULTS.priority),
    concurrency: flowLimit('concurrency', spec.concurrency, false),
    rateLimit: flowLimit('rateLimit', spec.rateLimit, true),
    fairness: fairnessOf(spec.fairness),
  };
  return definition;
}

/** The payload a caller gives a job: its schema's input (before defaults and transforms). */
export type JobPayload<J extends JobDefinition> = J extends JobDefinition<infer S, string, unknown> ? z.input<S> : never;

/** A job's result: its `result` schema's output, else what its handler resolves to. */
export type JobResult<J extends JobDefinition> = J extends JobDefinition<z.ZodType, string, infer R> ? R : never;

/** The type names of a list of definitions, as a union of literals. */
export type JobTypeName<J extends readonly JobDefinition[]> = J[number]['type'];

/** The definition in `J` named `N` (any of them when `J`'s names are not literals). */
export type JobNamed<J extends readonly JobDefinition[], N extends string> = string extends JobTypeName<J> ? J[number] : Extract<J[number], { type: N }>;

/** Job definitions by type: what enqueue() resolves a type name against. */
export type JobRegistry = ReadonlyMap<string, JobDefinition>;

/** A registry of `jobs`; two definitions of one type are a mistake, reported at once. */
export function jobRegistry(jobs: readonly JobDefinition[]): JobRegistry {
  const registry = new Map<string, JobDefinition>();
  for (const job of jobs) {
    if (registry.has(job.type) && registry.get(job.type) !== job) throw new TypeError(`job type "${job.type}" is defined twice`);
    registry.set(job.type, job);
  }
  return registry;
}
