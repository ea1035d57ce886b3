import type { Db } from '../db.js';
import { JobNotFoundError, JobStateError } from '../errors.js';
import { jobCancel, jobChildren, jobGet, jobList, jobRetryDead, jobsCancelDead, jobsDead, jobsRetryDead, type JobChange, type JobRow } from './queries-admin.js';
import { stepsOfJob } from '../core/queries-steps.js';
import type { JobStatus } from '../schema.js';

/** A job as the admin API shows it (camelCase, ISO 8601 timestamps, no lease token). */
export interface JobView {
  id: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAfter: string;
  lockedUntil: string | null;
  lastError: string | null;
  createdAt: string;
  startedAt: string | null;
  idempotencyKey: string | null;
  debounceKey: string | null;
  /** Flow limits' keys ('' for a limit over the whole type); null when the type had no such limit at enqueue. */
  concurrencyKey: string | null;
  rateKey: string | null;
  /** When it went dead; null unless dead. */
  deadAt: string | null;
  /** What its handler returned (JSON), once completed; null when it returned nothing. */
  result: unknown;
  /** When it completed; null unless completed. */
  completedAt: string | null;
  /** When it was cancelled; null unless cancelled. */
  cancelledAt: string | null;
  /** When a cancel of the running job was asked for (its drain stops it at its next heartbeat); else null. */
  cancelRequestedAt: string | null;
  /** The handler's latest ctx.progress() value; null when it reported none. */
  progress: unknown;
  /** A child job (ctx.invoke): its parent's id; else null. */
  parentId: string | null;
  /** While waiting: the events it waits for (ctx.waitForEvent); empty when it waits for child jobs, null unless waiting. */
  waitingFor: { event: string; key: string }[] | null;
}

/** A finished durable step of a job (ctx.step), with its stored result. */
export interface StepView {
  name: string;
  result: unknown;
  finishedAt: string;
}

/** A child job a job invoked (ctx.invoke): `name` is the invoke's. */
export interface ChildView {
  id: string;
  name: string;
  type: string;
  status: JobStatus;
}

/** A job with its finished steps and its child jobs: GET /api/jobs/:id. */
export interface JobDetail extends JobView {
  steps: StepView[];
  children: ChildView[];
}


/** An event a waiting job waits for, from its wait_for tag (`name chr(1) key`: queries-waits.ts). */
const untag = (tag: string) => ({ event: tag.slice(0, tag.indexOf('\u0001')), key: tag.slice(tag.indexOf('\u0001') + 1) });

const iso = (t: string | null) => (t === null ? null : new Date(t).toISOString());

function view(r: JobRow): JobView {
  return {
    id: r.id, type: r.type, status: r.status, payload: r.payload, priority: r.priority,
    attempts: r.attempts, maxAttempts: r.max_attempts, runAfter: iso(r.run_after)!, lockedUntil: iso(r.locked_until),
    lastError: r.last_error, createdAt: iso(r.created_at)!, startedAt: iso(r.started_at), idempotencyKey: r.idempotency_key,
    debounceKey: r.debounce_key, concurrencyKey: r.concurrency_key ?? null, rateKey: r.rate_key ?? null,
    deadAt: iso(r.dead_at ?? null), result: r.result ?? null, completedAt: iso(r.completed_at ?? null),
    cancelledAt: iso(r.cancelled_at ?? null), cancelRequestedAt: iso(r.cancel_requested_at ?? null), progress: r.progress ?? null,
    parentId: r.parent_id ?? null,
    waitingFor: r.status === 'waiting' ? (r.wait_for ?? []).map(untag) : null,
  };
}

export interface ListJobsOptions {
  status?: JobStatus;
  type?: string;
  /** Page size. Default 50. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

/** A page of jobs, oldest first; nextCursor is null on the last page. */
export async function listJobs(db: Db, o: ListJobsOptions = {}): Promise<{ jobs: JobView[]; nextCursor: string | null }> {
  const limit = o.limit ?? 50;
  const found = await jobList(db, { status: o.status ?? null, type: o.type ?? null, limit: limit + 1, after: o.cursor ?? null });
  const page = found.slice(0, limit).map(view);
  return { jobs: page, nextCursor: found.length > limit ? page[page.length - 1]!.id : null };
}

/** One job with its finished steps; JobNotFoundError when there is none. */
export async function getJob(db: Db, id: string): Promise<JobDetail> {
  const [row, steps, children] = await Promise.all([jobGet(db, id), stepsOfJob(db, id), jobChildren(db, id)]);
  if (!row) throw new JobNotFoundError(id);
  return {
    ...view(row),
    steps: steps.map((s) => ({ name: s.name, result: s.result, finishedAt: iso(s.finished_at)! })),
    children: children.map((c) => ({ id: c.id, name: c.parent_step, type: c.type, status: c.status })),
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
