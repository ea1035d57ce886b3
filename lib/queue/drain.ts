import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DRAIN_DEFAULTS, JOB_DEFAULTS } from './config.js';
import type { Db } from './db.js';
import type { JobDefinition } from './jobs.js';
import { type ClaimedJob, jobClaim, jobWriteOutcomes, type Outcome } from './queries.js';
import { failure, runJob } from './run-job.js';

export const drainOptionsSchema = z.strictObject({
  /** Time budget when no deadline is given. Default 10 s. */
  budgetMs: z.number().int().positive().optional(),
  /** When drain() must have returned (Date or epoch ms). Default: now + budgetMs. */
  deadline: z.union([z.date(), z.number()]).optional(),
  /** Handlers running at once. Default 10. */
  concurrency: z.number().int().positive().max(1000).optional(),
  /** Most jobs per claim statement. Default 1,000. */
  batchSize: z.number().int().positive().max(10_000).optional(),
  /** Claim only these types. Default: all (a type with no definition goes dead). */
  types: z.array(z.string().min(1)).min(1).optional(),
  /** Stop after claiming this many jobs. Default: no limit. */
  maxJobs: z.number().int().positive().optional(),
  /** Lease slack beyond a job's timeout. Default 10 s. */
  leaseGraceMs: z.number().int().nonnegative().optional(),
});
export type DrainOptions = z.input<typeof drainOptionsSchema>;

export interface DrainSummary {
  claimed: number;
  completed: number;
  retried: number;
  dead: number;
  rescued: number;
  released: number;
  durationMs: number;
  stoppedBy: 'empty' | 'deadline' | 'maxJobs';
}

/** A claimed job, its claim's token, and when its lease ends by the local clock. */
type Leased = { job: ClaimedJob; token: string; leaseEnd: number };

/**
 * One time-boxed pass: rescue expired leases, then claim, run and settle jobs until nothing is due,
 * the deadline nears or maxJobs is reached. Claims are prefetched while handlers run, and outcomes
 * ride on the next claim, so a busy pass costs about one statement per batch. No timer or connection
 * outlives the returned promise except handlers that ignored their abort signal.
 */
export async function drain(db: Db, jobs: JobDefinition[], options: DrainOptions = {}): Promise<DrainSummary> {
  const o = drainOptionsSchema.parse(options);
  // With no definitions every claimed job would be an unknown type and go dead: refuse instead.
  if (jobs.length === 0) throw new TypeError('drain() needs at least one job definition');
  // A listed type without a definition would be claimed only to go dead as unknown.
  const undefinedTypes = (o.types ?? []).filter((t) => !jobs.some((j) => j.type === t));
  if (undefinedTypes.length > 0) throw new TypeError(`drain() types have no definition: ${undefinedTypes.join(', ')}`);
  const start = Date.now();
  const deadline = o.deadline !== undefined ? +o.deadline : start + (o.budgetMs ?? DRAIN_DEFAULTS.budgetMs);
  // Time kept back at the end: handlers are aborted at stopAt, abandoned halfway to the deadline, then the last write.
  const reserve = Math.min(2_000, Math.max(50, (deadline - start) / 10));
  const stopAt = deadline - reserve;
  const concurrency = o.concurrency ?? DRAIN_DEFAULTS.concurrency;
  const batchSize = o.batchSize ?? DRAIN_DEFAULTS.batchSize;
  const maxJobs = o.maxJobs ?? Infinity;
  const grace = o.leaseGraceMs ?? DRAIN_DEFAULTS.leaseGraceMs;
  const byType = new Map(jobs.map((j) => [j.type, j]));
  const leaseMs: Record<string, number> = Object.fromEntries(jobs.map((j) => [j.type, j.timeoutMs + grace]));
  const defaultLeaseMs = JOB_DEFAULTS.timeoutMs + grace;
  const onStop = new Set<() => void>(); // running jobs' abort functions
  const summary: DrainSummary = { claimed: 0, completed: 0, retried: 0, dead: 0, rescued: 0, released: 0, durationMs: 0, stoppedBy: 'empty' };

  const queue: Leased[] = [];
  let outcomes: Outcome[] = [];
  let running = 0;
  let finished = 0;
  let firstStart = 0;
  let exhausted = false;
  let rescueDone = false;
  let winding = false; // a job could not finish before stopAt: claim no more
  let closing = false;
  let gaveBack = false; // the last claim wrote give-backs, due at once: worth one more claim when idle
  const longestRun = new Map<string, number>(); // per type, this pass: how long a run may need
  let stopped: DrainSummary['stoppedBy'] | undefined;
  let failure_: unknown;
  let transientErrors = 0;
  const inFlight = new Set<Promise<unknown>>();
  let statements = 0; // claims and flushes on the wire
  let claims = 0; // claims on the wire
  let asked = 0; // jobs those claims asked for
  let wake = () => {};
  const track = (p: Promise<unknown>) => {
    // A deadlock or serialization failure only delays a statement: its outcomes went back to the buffer.
    // A few are retried; more than that and something is wrong with the database: give up.
    const settled = p
      .catch((e) => { if (!isTransient(e) || ++transientErrors > 5) failure_ ??= e; })
      .finally(() => { inFlight.delete(settled); wake(); });
    inFlight.add(settled);
  };

  const record = (outcome: Outcome) => {
    outcomes.push(outcome);
    if (outcome.kind === 'done') summary.completed++;
    else if (outcome.kind === 'dead') summary.dead++;
    else if (outcome.kind === 'retry') summary.retried++;
    else summary.released++;
  };
  /** Sends buffered outcomes with `send`; on failure they go back to the buffer (writes are idempotent). */
  const withOutcomes = async <T>(send: (batch: Outcome[]) => Promise<T>) => {
    const batch = outcomes;
    outcomes = [];
    statements++;
    try { return await send(batch); } catch (e) { outcomes.push(...batch); throw e; } finally { statements--; }
  };

  // Size claims to what can start before the lease grace runs out (slow jobs) but batchSize when fast.
  const claimSize = () => {
    const elapsed = Date.now() - firstStart;
    const rate = finished > 0 && elapsed > 0 ? finished / elapsed : 0;
    const fit = rate ? Math.floor((rate * grace) / 2) : concurrency * 2;
    return Math.min(batchSize, maxJobs - summary.claimed - asked, Math.max(concurrency, fit));
  };
  const claim = async () => {
    claims++;
    const limit = claimSize();
    asked += limit;
    const token = randomUUID();
    // The first claim of a pass also finds expired leases (the rescue); their outcomes ride on the next.
    const rescueLimit = rescueDone ? 0 : DRAIN_DEFAULTS.rescueLimit;
    rescueDone = true;
    // The lease is counted from when the claim was sent, by our clock: never later than the database's.
    const sentAt = Date.now();
    const result = await withOutcomes((batch) => {
      gaveBack = batch.some((x) => x.kind === 'release' && x.delay_ms == null);
      return jobClaim(db, { token, limit, types: o.types ?? null, leaseMs, defaultLeaseMs, outcomes: batch, rescueLimit });
    }).finally(() => { asked -= limit; });
    for (const job of result.expired) {
      outcomes.push(failure(job, job.lock_token, byType.get(job.type), 'lease expired: the drain running it crashed, was killed or overran'));
    }
    summary.rescued += result.expired.length;
    if (result.expired.length > 0) scheduleFlush();
    summary.claimed += result.jobs.length;
    for (const job of result.jobs) queue.push({ job, token, leaseEnd: sentAt + (leaseMs[job.type] ?? defaultLeaseMs) });
    if (result.jobs.length < limit) exhausted = true;
  };
  // Fast jobs (a full batch fits in the lease grace) get a second claim on the wire while the first
  // travels, hiding a round trip; slow jobs get one claim at a time so none waits long for a worker.
  const maxClaims = () => (claimSize() >= batchSize ? 2 : 1);
  /**
   * Starts a job, or gives it back unstarted (attempt returned) when it could not finish in time: its
   * lease no longer covers a full timeout (it waited too long in the queue; another drain may rescue
   * it), or a run of its type has taken longer than what is left before stopAt.
   */
  const startOrRelease = ({ job, token, leaseEnd }: Leased) => {
    const definition = byType.get(job.type);
    const now = Date.now();
    const leaseTooShort = definition !== undefined && leaseEnd - now < definition.timeoutMs;
    const tooLate = now + (longestRun.get(job.type) ?? 0) > stopAt;
    if (leaseTooShort || tooLate) {
      winding ||= tooLate;
      record({ id: job.id, token, kind: 'release' });
      scheduleFlush();
      return;
    }
    running++;
    firstStart ||= now;
    const limits = { leaseEnd, stopAt, settleMs: reserve / 2 };
    track(runJob(job, token, definition, db, limits, onStop).then((outcome) => {
      running--;
      finished++;
      longestRun.set(job.type, Math.max(longestRun.get(job.type) ?? 0, Date.now() - now));
      record(outcome);
      scheduleFlush();
    }));
  };
  // Outcomes wait for the next claim to carry them, but never longer than flushDelayMs.
  let flushTimer: NodeJS.Timeout | undefined;
  const scheduleFlush = () => {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      if (outcomes.length > 0 && !closing) track(withOutcomes((batch) => jobWriteOutcomes(db, batch)));
    }, DRAIN_DEFAULTS.flushDelayMs);
  };
  const deadlineTimer = setTimeout(() => wake(), Math.max(0, stopAt - Date.now()));

  try {
    while (!stopped && failure_ === undefined) {
      if (Date.now() >= stopAt) { stopped = 'deadline'; break; }
      while (running < concurrency && queue.length > 0) startOrRelease(queue.shift()!);
      const idle = running === 0 && queue.length === 0 && statements === 0;
      const canClaim = summary.claimed + asked < maxJobs;
      const wanted = claims < maxClaims() && queue.length < concurrency;
      if (wanted && canClaim && !winding && (!exhausted || (idle && (outcomes.length > 0 || gaveBack)))) {
        exhausted = false;
        track(claim().finally(() => claims--));
      } else if (idle) {
        stopped = winding ? 'deadline' : canClaim ? 'empty' : 'maxJobs';
        break;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  } finally {
    // Stop: abort running handlers, release what never started, wait for everything, write the rest,
    // all by the deadline: past it the function may be frozen, and whatever is unwritten by then
    // (the pool can be busy with handlers' queries) is left to the leases.
    closing = true;
    clearTimeout(deadlineTimer);
    clearTimeout(flushTimer);
    for (const abort of onStop) abort();
    await untilDeadline(deadline, (async () => {
      while (inFlight.size > 0) await Promise.all(inFlight);
      for (const { job, token } of queue.splice(0)) record({ id: job.id, token, kind: 'release' });
      if (outcomes.length > 0) await withOutcomes((batch) => jobWriteOutcomes(db, batch));
    })());
  }
  if (failure_ !== undefined) throw failure_;
  summary.stoppedBy = stopped ?? 'deadline';
  summary.durationMs = Date.now() - start;
  return summary;
}

/** Postgres errors that mean "try again": deadlock_detected, serialization_failure. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Waits for `work` until `deadline` at most; a failure of `work` before then is thrown. */
async function untilDeadline(deadline: number, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - Date.now())); });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // finishing late is fine; failing late has no one left to tell
  }
}
