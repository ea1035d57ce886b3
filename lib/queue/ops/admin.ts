import type { Db } from '../db.js';
import { JobNotFoundError, JobStateError } from '../errors.js';
import { jobCancel, jobChildren, jobGet, jobRetryDead, jobsCancelDead, jobsDead, jobsRetryDead, type JobChange, type JobRow } from './queries-admin.js';
import { stepsOfJob } from '../core/queries-steps.js';
import type { JobStatus } from '../schema.js';
import { attemptsOf, iso, view, type JobDetail, type JobView } from './job-view.js';
import { jobReplays } from './queries-runs.js';

/** One job with its attempts, finished steps, child jobs and replays; JobNotFoundError when there is none. */
export async function getJob(db: Db, id: string): Promise<JobDetail> {
  const [row, steps, children, replays] = await Promise.all([jobGet(db, id), stepsOfJob(db, id), jobChildren(db, id), jobReplays(db, id)]);
  if (!row) throw new JobNotFoundError(id);
  return {
    ...view(row),
    attemptLog: attemptsOf(row),
    steps: steps.map((s) => ({ name: s.name, result: s.result, finishedAt: iso(s.finished_at)!, durationMs: s.duration_ms })),
    children: children.map((c) => ({ id: c.id, name: c.parent_step, type: c.type, status: c.status })),
    replays: replays.map((r) => ({ id: r.id, status: r.status, createdAt: iso(r.created_at)! })),
  };
}

/**
 * The outcome of a retry or cancel. Not changed although the snapshot showed an eligible state means
 * another statement got there first (a claim, for a pending job): `busy` names what it is now.
 */
function settle(id: string, change: JobChange, eligible: JobStatus[], busy: JobStatus, action: string): JobView {
  if (change.previous === null) throw new JobNotFoundError(id);
  if (!change.changed || !change.job) {
    throw new JobStateError(id, eligible.includes(change.previous) ? busy : change.previous, action);
  }
  return view(change.job);
}

/** A dead job back to pending, due now, with its attempts reset. JobStateError unless it is dead. */
export async function retryJob(db: Db, id: string): Promise<JobView> {
  return settle(id, await jobRetryDead(db, id), ['dead'], 'pending', 'only dead jobs can be retried');
}

/**
 * Cancels a job and returns it, with its unfinished child jobs: a pending, waiting or dead one is cancelled at once; a running one keeps running
 * until its drain's next heartbeat stops it (cancelRequestedAt is set; its ctx.signal fires with a
 * JobCancelledError, and it ends cancelled, not retried). Kept, cancelled, for SLUICE_RESULT_RETENTION.
 * A completed or cancelled job throws JobStateError.
 */
export async function cancelJob(db: Db, id: string): Promise<JobView> {
  // A pending job claimed (or a running one settled) between the statement's snapshot and its write
  // is in a new state: try again in that one, a few times at most.
  let change = await jobCancel(db, id);
  for (let i = 0; i < 3 && !change.changed && (change.previous === 'pending' || change.previous === 'running' || change.previous === 'waiting'); i++) change = await jobCancel(db, id);
  return settle(id, change, [], 'running', 'only pending, waiting, running or dead jobs can be cancelled');
}

/** Dead jobs changed at most per bulk call: one statement each, kept short. Call again for more. */
export const BULK_LIMIT = 10_000;

/** A bulk retry or cancel: how many jobs it changed, and whether more of the filter are left. */
export interface BulkResult {
  count: number;
  more: boolean;
}

/** The newest dead jobs (of `type`, if given; at most `limit`, default 50) and how many there are in all. */
export async function listDeadJobs(db: Db, o: { type?: string; limit?: number } = {}): Promise<{ jobs: JobView[]; total: number }> {
  const { jobs, total } = await jobsDead(db, o.type ?? null, o.limit ?? 50);
  return { jobs: jobs.map(view), total };
}

/** Every dead job (of `type`, if given) back to pending, due now, attempts reset: up to BULK_LIMIT a call. */
export async function retryDeadJobs(db: Db, o: { type?: string } = {}): Promise<BulkResult> {
  const count = await jobsRetryDead(db, o.type ?? null, BULK_LIMIT);
  return { count, more: count === BULK_LIMIT };
}

/** Every dead job (of `type`, if given) cancelled, its steps deleted: up to BULK_LIMIT a call. */
export async function cancelDeadJobs(db: Db, o: { type?: string } = {}): Promise<BulkResult> {
  const count = await jobsCancelDead(db, o.type ?? null, BULK_LIMIT);
  return { count, more: count === BULK_LIMIT };
}
