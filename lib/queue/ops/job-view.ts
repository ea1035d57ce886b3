/** A job as the admin API shows it (JobView), and a job's page (JobDetail): the rows of queries-admin.ts in camelCase. */
import type { JobRow } from './queries-admin.js';
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
  /** A replay (admin.replay): the job it ran again; else null. */
  replayOf: string | null;
  /** The enqueue's W3C traceparent, when the app traces (its trace id is the second field). */
  traceParent: string | null;
  /** While waiting: the events it waits for (ctx.waitForEvent); empty when it waits for child jobs, null unless waiting. */
  waitingFor: { event: string; key: string }[] | null;
}

/** A finished durable step of a job (ctx.step), with its stored result. */
export interface StepView {
  name: string;
  result: unknown;
  finishedAt: string;
  /** How long its function ran, ms; null for a sleep, a wait or an invoke. */
  durationMs: number | null;
}

/** One attempt of a job: a run from its claim to its outcome. */
export interface AttemptView {
  attempt: number;
  startedAt: string | null;
  /** When its outcome was written; null while it runs. */
  endedAt: string | null;
  durationMs: number | null;
  /** retried: it failed and was due again (its lease expired: error says so); running: the attempt now under way. */
  outcome: 'completed' | 'retried' | 'dead' | 'cancelled' | 'running';
  error: string | null;
}

/** A replay of a job (admin.replay). */
export interface ReplayView {
  id: string;
  status: JobStatus;
  createdAt: string;
}

/** A child job a job invoked (ctx.invoke): `name` is the invoke's. */
export interface ChildView {
  id: string;
  name: string;
  type: string;
  status: JobStatus;
}

/** A job with its attempts, finished steps, child jobs and replays: GET /api/jobs/:id. */
export interface JobDetail extends JobView {
  /** Every attempt, oldest first: at most the last 20 (earlier ones are dropped, each error's first 2,000 characters kept). */
  attemptLog: AttemptView[];
  steps: StepView[];
  children: ChildView[];
  replays: ReplayView[];
}


/** An event a waiting job waits for, from its wait_for tag (`name chr(1) key`: queries-waits.ts). */
const untag = (tag: string) => ({ event: tag.slice(0, tag.indexOf('\u0001')), key: tag.slice(tag.indexOf('\u0001') + 1) });

export const iso = (t: string | null) => (t === null ? null : new Date(t).toISOString());

export function view(r: JobRow): JobView {
  return {
    id: r.id, type: r.type, status: r.status, payload: r.payload, priority: r.priority,
    attempts: r.attempts, maxAttempts: r.max_attempts, runAfter: iso(r.run_after)!, lockedUntil: iso(r.locked_until),
    lastError: r.last_error, createdAt: iso(r.created_at)!, startedAt: iso(r.started_at), idempotencyKey: r.idempotency_key,
    debounceKey: r.debounce_key, concurrencyKey: r.concurrency_key ?? null, rateKey: r.rate_key ?? null,
    deadAt: iso(r.dead_at ?? null), result: r.result ?? null, completedAt: iso(r.completed_at ?? null),
    cancelledAt: iso(r.cancelled_at ?? null), cancelRequestedAt: iso(r.cancel_requested_at ?? null), progress: r.progress ?? null,
    parentId: r.parent_id ?? null, replayOf: r.replay_of ?? null, traceParent: r.trace_parent ?? null,
    waitingFor: r.status === 'waiting' ? (r.wait_for ?? []).map(untag) : null,
  };
}


interface LoggedAttempt { attempt: number; startedAt: string | null; endedAt: string; outcome: 'retried' | 'dead'; error: string | null }

const span = (from: string | null, to: string | null) => (from && to ? Math.max(0, +new Date(to) - +new Date(from)) : null);

/** The job's attempts: those its attempt_log kept, then the last one, from the row itself (none before its first claim). */
export function attemptsOf(r: JobRow): AttemptView[] {
  const logged = ((r.attempt_log ?? []) as LoggedAttempt[]).map((a): AttemptView => ({
    attempt: a.attempt, startedAt: iso(a.startedAt), endedAt: iso(a.endedAt), durationMs: span(a.startedAt, a.endedAt), outcome: a.outcome, error: a.error,
  }));
  const ended = { completed: r.completed_at, dead: r.dead_at, cancelled: r.cancelled_at }[r.status as 'completed' | 'dead' | 'cancelled'] ?? null;
  const last = r.status === 'running' ? 'running' : ended ? (r.status as 'completed' | 'dead' | 'cancelled') : null;
  // A cancel before any run, or a pending job between attempts, adds none.
  if (last === null || r.started_at === null || (last === 'cancelled' && r.attempts === 0)) return logged;
  const error = last === 'dead' || last === 'cancelled' ? r.last_error : null;
  return [...logged, { attempt: r.attempts, startedAt: iso(r.started_at), endedAt: iso(ended ?? null), durationMs: span(r.started_at, ended ?? null), outcome: last, error }];
}
