import type { Db } from '../db.js';
import { JobNotFoundError } from '../errors.js';
import type { JobDefinition, JobResult } from './jobs.js';
import { jobResultRead, type ResultRow } from './queries-results.js';

/** The longest one result() call waits: a caller wanting longer calls again (an HTTP request must end). */
export const MAX_RESULT_WAIT_MS = 30_000;

/**
 * What result() answers: the job ended (completed with its result, dead with its last error, or
 * cancelled), or it is still pending, running or waiting (for child jobs or an event) when the wait ended.
 */
export type JobResultStatus<R = unknown> =
  | { status: 'completed'; result: R }
  | { status: 'dead'; error: string | null }
  | { status: 'cancelled' }
  | { status: 'pending' | 'running' | 'waiting' };

export interface ResultOptions<J extends JobDefinition = JobDefinition> {
  /** How long to wait for the job to end, in ms, at most MAX_RESULT_WAIT_MS (30 s). Default 0: answer at once. */
  timeoutMs?: number;
  /** The job's definition: types the result (and the job's type is checked against it). */
  job?: J;
}

/** First poll after 50 ms, doubling to 1 s: a short job answers quickly, a long wait costs a query a second. */
const FIRST_POLL_MS = 50;
const LAST_POLL_MS = 1_000;

function answer(row: ResultRow): JobResultStatus | null {
  switch (row.status) {
    case 'completed': return { status: 'completed', result: row.result ?? undefined };
    case 'dead': return { status: 'dead', error: row.last_error };
    case 'cancelled': return { status: 'cancelled' };
    default: return null; // still to end (pending, running, waiting)
  }
}

/**
 * A job's result: at once (timeoutMs 0), or once it ends within `timeoutMs`, polling the row (Neon's
 * pooled connections allow no LISTEN). While it has yet to end it is marked awaited, so a run that
 * returns nothing keeps its row (completed) for SLUICE_RESULT_RETENTION. JobNotFoundError: no such
 * job (never enqueued, or deleted: completed with nothing to keep and not awaited, or past retention).
 */
export async function jobResult<J extends JobDefinition = JobDefinition>(
  db: Db, id: string, options: ResultOptions<J> = {},
): Promise<JobResultStatus<JobDefinition extends J ? unknown : JobResult<J>>> {
  const timeoutMs = options.timeoutMs ?? 0;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_RESULT_WAIT_MS) {
    throw new TypeError(`timeoutMs must be from 0 to ${MAX_RESULT_WAIT_MS} ms, got ${timeoutMs}`);
  }
  const until = Date.now() + timeoutMs;
  for (let pollMs = FIRST_POLL_MS; ; pollMs = Math.min(LAST_POLL_MS, pollMs * 2)) {
    const row = await jobResultRead(db, id);
    if (!row) throw new JobNotFoundError(id);
    if (options.job && options.job.type !== row.type) throw new TypeError(`job ${id} is of type "${row.type}", not "${options.job.type}"`);
    const ended = answer(row);
    const left = until - Date.now();
    if (ended) return ended as JobResultStatus<never>;
    if (left <= 0) return { status: row.status as 'pending' | 'running' | 'waiting' };
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
  }
}
