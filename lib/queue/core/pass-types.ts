// The shapes of a drain pass (drain-pass.ts) that its callers see: its settings, its live view and its summary.
import type { HousekeepingParams, HousekeepingReport } from '../housekeeping/queries-housekeeping.js';

/** What one drain pass did: drain()'s answer. */
export interface DrainSummary {
  claimed: number;
  completed: number;
  retried: number;
  dead: number;
  rescued: number;
  /** Runs stopped, or never started, because a cancel was asked for (admin.cancel). */
  cancelled: number;
  /** Claimed jobs released: back to pending with the attempt given back (not started before the deadline,
   *  or the run yielded: a sleep, a wait, RetryLaterError, the deadline after new steps). */
  released: number;
  /** Of those, runs handed back for time to go on at once: their next step would not end before the
   *  drain's stop (or the run's timeout), or the deadline cut a step off after others finished. */
  handedBack: number;
  /** Runs that let go of their job to wait for child jobs or an event (ctx.invoke, ctx.waitForEvent). */
  waiting: number;
  durationMs: number;
  stoppedBy: 'empty' | 'deadline' | 'maxJobs';
}

/** Housekeeping a pass's first claim carries (the cron tick's), and who hears what it did. */
export interface Housekeeping {
  params: HousekeepingParams;
  onReport(report: HousekeepingReport): void;
}

/** The resolved settings of one pass (drain() works them out from its options). */
export interface PassSettings {
  deadline: number;
  /** deadline less the reserve: claiming stops and running handlers are signalled. */
  stopAt: number;
  /** How long after stopAt a handler may take to settle before it is abandoned. */
  settleMs: number;
  concurrency: number;
  batchSize: number;
  maxJobs: number;
  leaseGraceMs: number;
  types: string[];
  /** Largest durable step result, in bytes of JSON. */
  maxStepBytes: number;
  /** Largest job result, in bytes of JSON. */
  maxResultBytes: number;
  /** Completed runs are kept rather than deleted (drain.ts). */
  keepCompleted: boolean;
  /** Which percentile of a step name's earlier runs estimates its duration (1-100; 0: this run's longest step alone). */
  stepEstimatePercentile: number;
  /** The app whose drain mark the pass writes when it ends well. */
  app: string;
  /** Called once as the pass starts, with a live view of it (a wake's fan-out decision reads it). */
  observe?: (pass: LivePass) => void;
  housekeeping?: Housekeeping;
}

/** What a pass shows of itself while it runs. */
export interface LivePass {
  /** Counts so far (the same object run() returns at the end, without stoppedBy and durationMs). */
  readonly summary: Readonly<DrainSummary>;
  /** Handlers running now. */
  runningNow(): number;
  /** The earliest time (epoch ms) a job this pass retried or gave back, or one its empty claim saw
   *  pending, becomes due; null if none. */
  nextDueAt(): number | null;
}
