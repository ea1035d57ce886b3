import type { z } from 'zod';
import { JOB_DEFAULTS } from './config.js';
import type { Db } from './db.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './retry.js';

/** What a handler knows about the run it is in. */
export interface JobContext {
  job: { id: string; type: string; attempt: number; maxAttempts: number; createdAt: Date };
  /** Fires at the job's timeout, at the drain's deadline, or when the lease runs out. Pass it on to fetch(). */
  signal: AbortSignal;
  db: Db;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<void>;

export interface JobOptions {
  /** Started runs before the job goes dead. Default 5. */
  maxAttempts?: number;
  /** A run is aborted and counted as failed after this long. Default 30 s. */
  timeoutMs?: number;
  /** Retry delays. Default 1 s doubling to at most 1 h, with jitter. */
  backoff?: Partial<BackoffPolicy>;
  /** Higher runs first. Default 0. */
  priority?: number;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  type: string;
  payload: S;
  // Method syntax on purpose: it lets a JobDefinition<typeof schema> sit in a JobDefinition[] list.
  handler(payload: z.output<S>, ctx: JobContext): Promise<void>;
  maxAttempts: number;
  timeoutMs: number;
  backoff: BackoffPolicy;
  priority: number;
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

/**
 * Declares a job type. Nothing is registered globally: the definitions an app passes to createSluice()
 * (or to drain() and enqueue()) are its registry, so two instances, or two test files, never share one.
 */
export function defineJob<S extends z.ZodType>(
  spec: { type: string; payload: S; handler: JobHandler<z.output<S>> } & JobOptions,
): JobDefinition<S> {
  if (!/^[\w.:-]{1,100}$/.test(spec.type)) {
    throw new TypeError(`job type "${spec.type}" must be 1-100 letters, digits, '_', '-', '.' or ':'`);
  }
  const backoff = { ...DEFAULT_BACKOFF, ...spec.backoff };
  positiveInt('backoff.baseMs', backoff.baseMs);
  positiveInt('backoff.maxMs', backoff.maxMs);
  const definition: JobDefinition<S> = {
    type: spec.type,
    payload: spec.payload,
    handler: spec.handler,
    maxAttempts: positiveInt('maxAttempts', spec.maxAttempts ?? JOB_DEFAULTS.maxAttempts),
    timeoutMs: positiveInt('timeoutMs', spec.timeoutMs ?? JOB_DEFAULTS.timeoutMs),
    backoff,
    priority: int32('priority', spec.priority ?? JOB_DEFAULTS.priority),
  };
  return definition;
}

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
