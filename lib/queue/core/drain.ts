import { z } from 'zod';
import { appName } from '../app.js';
import { DEFAULT_SETTINGS, DRAIN_DEFAULTS } from '../config.js';
import type { Db } from '../db.js';
import { DrainPass } from './drain-pass.js';
import type { DrainSummary, Housekeeping, LivePass } from './pass-types.js';
import type { JobDefinition } from './jobs.js';
import { monotonicNow, toMonotonic } from '../clock.js';

const DAY_MS = 86_400_000;

export const drainOptionsSchema = z.strictObject({
  /** Time budget when no deadline is given. Default 10 s; at most a day (Node's timers stop at ~24.8 days). */
  budgetMs: z.number().int().positive().max(DAY_MS).optional(),
  /** When drain() must have returned (Date or epoch ms), at most a day ahead. Default: now + budgetMs. */
  deadline: z
    .union([z.date(), z.number()])
    .refine((d) => +d - Date.now() <= DAY_MS, 'deadline must be at most a day ahead')
    .optional(),
  /** Handlers running at once. Default 10. */
  concurrency: z.number().int().positive().max(1000).optional(),
  /** Most jobs per claim statement. Default 1,000. */
  batchSize: z.number().int().positive().max(10_000).optional(),
  /** Claim only these types (each needs a definition). Default: the types of the definitions given; jobs of
   *  any other type stay pending for a drain that knows them (an old deployment meeting a new type). */
  types: z.array(z.string().min(1)).min(1).optional(),
  /** Stop after claiming this many jobs. Default: no limit. */
  maxJobs: z.number().int().positive().optional(),
  /** A job's lease past the claim or the last heartbeat (renewed every third of it). Default 10 s; at least 1 s. */
  leaseGraceMs: z.number().int().min(1_000).max(DAY_MS).optional(),
  /** Largest durable step result, in bytes of JSON. Default: SLUICE_MAX_STEP_BYTES's default (256 KB). */
  maxStepBytes: z.number().int().positive().optional(),
  /** Largest job result (what a handler returns), in bytes of JSON. Default: SLUICE_MAX_RESULT_BYTES's default (256 KB). */
  maxResultBytes: z.number().int().positive().optional(),
  /** Which percentile of a step name's earlier runs estimates whether it fits before the deadline; 0
   *  turns the history off. Default: SLUICE_STEP_ESTIMATE_PERCENTILE's default (90). */
  stepEstimatePercentile: z.number().int().min(0).max(100).optional(),
  /** The app whose drain mark a pass that ends well writes (lib/queue/app.ts). Default: derived from
   *  the job types of the definitions given, as an instance derives it without SLUICE_APP. */
  app: z.string().min(1).max(200).optional(),
  /** Completed runs are kept (status completed) rather than deleted, for the run history. Default
   *  false: a drain on its own prunes nothing, so it keeps nothing. An instance passes
   *  SLUICE_COMPLETED_RETENTION > 0, and its cron ticks prune (completedPrune). */
  keepCompleted: z.boolean().optional(),
  /** Called once as the pass starts with a live view of it (counts so far, handlers running). */
  observe: z.custom<(pass: LivePass) => void>((f) => typeof f === 'function', 'observe must be a function').optional(),
  /** The cron tick's housekeeping (queries-housekeeping.ts), carried by the pass's first claim. */
  housekeeping: z.custom<Housekeeping>((h) => typeof h === 'object' && h !== null && 'params' in h, 'housekeeping must be { params, onReport }').optional(),
});
export type DrainOptions = z.input<typeof drainOptionsSchema>;
export type { DrainSummary };


/**
 * One time-boxed pass: rescue expired leases, then claim, run and settle jobs until nothing is due,
 * the deadline nears or maxJobs is reached (see DrainPass, and docs/concepts.md, "How a drain pass works").
 * Claims are prefetched while handlers run and outcomes ride on the next claim, so a busy pass costs
 * about one statement per batch. No timer outlives the returned promise except handlers that ignored
 * their abort signal.
 */
export async function drain(db: Db, jobs: JobDefinition[], options: DrainOptions = {}): Promise<DrainSummary> {
  const o = drainOptionsSchema.parse(options);
  // With no definitions there is nothing to run: refuse rather than claim nothing forever.
  if (jobs.length === 0) throw new TypeError('drain() needs at least one job definition');
  // A listed type without a definition would be claimed only to go dead as unknown.
  const undefinedTypes = (o.types ?? []).filter((t) => !jobs.some((j) => j.type === t));
  if (undefinedTypes.length > 0) throw new TypeError(`drain() types have no definition: ${undefinedTypes.join(', ')}`);
  // The pass counts on the monotonic clock (clock.ts); a deadline given is converted once, here.
  const start = monotonicNow();
  const deadline = o.deadline !== undefined ? toMonotonic(+o.deadline) : start + (o.budgetMs ?? DRAIN_DEFAULTS.budgetMs);
  // Kept back at the end: handlers are signalled at stopAt, abandoned halfway to the deadline, then the last write.
  const reserve = Math.min(2_000, Math.max(50, (deadline - start) / 10));
  return new DrainPass(db, jobs, {
    deadline,
    stopAt: deadline - reserve,
    settleMs: reserve / 2,
    concurrency: o.concurrency ?? DRAIN_DEFAULTS.concurrency,
    batchSize: o.batchSize ?? DRAIN_DEFAULTS.batchSize,
    maxJobs: o.maxJobs ?? Infinity,
    leaseGraceMs: o.leaseGraceMs ?? DRAIN_DEFAULTS.leaseGraceMs,
    types: o.types ?? [...new Set(jobs.map((j) => j.type))],
    maxStepBytes: o.maxStepBytes ?? DEFAULT_SETTINGS.SLUICE_MAX_STEP_BYTES,
    maxResultBytes: o.maxResultBytes ?? DEFAULT_SETTINGS.SLUICE_MAX_RESULT_BYTES,
    stepEstimatePercentile: o.stepEstimatePercentile ?? DEFAULT_SETTINGS.SLUICE_STEP_ESTIMATE_PERCENTILE,
    app: o.app ?? appName(jobs.map((j) => j.type)),
    keepCompleted: o.keepCompleted ?? false,
    observe: o.observe,
    housekeeping: o.housekeeping,
  }).run();
}
