/**
 * The run history: jobs found by a filter (the runs browser, export) and replays. Statements in
 * queries-runs.ts; the filter's one schema is shared with the HTTP API, which parses its query with it.
 */
import { z } from 'zod';
import type { Db } from '../db.js';
import { JobNotFoundError, JobStateError, UnknownJobTypeError, ValidationError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { JOB_STATUSES, type JobStatus } from '../schema.js';
import { BULK_LIMIT, type BulkResult } from './admin.js';
import { view, type JobView } from './job-view.js';
import { cursorOf, jobReplay, jobsReplay, runsList, type RunCursor, type RunFilterParams } from './queries-runs.js';

const ENDED = ['completed', 'dead', 'cancelled'] as const;

/** Text Postgres can compare: no NUL, no lone surrogate (either would fail the statement). */
const storable = (max: number) => z.string().min(1).max(max).refine((s) => !s.includes('\0') && s.isWellFormed(), 'holds a NUL or a lone surrogate');

/** An ISO 8601 time Postgres can hold (years 1 to 9999). */
const instant = z.iso.datetime({ offset: true }).refine((t) => { const year = new Date(t).getUTCFullYear(); return year >= 1 && year <= 9999; }, 'a year from 1 to 9999');

/** Which jobs: every field narrows; none lists every job. `from`/`to` bound the time the status orders by. */
export const runFilterSchema = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  type: storable(100).optional(),
  /** ISO 8601: with a status, when the job reached it (completed, dead, cancelled; pending and waiting: when due; running: started); without, when it was enqueued. */
  from: instant.optional(),
  to: instant.optional(),
  idempotencyKey: storable(500).optional(),
  id: z.guid().optional(),
});
// Each interface is what its schema takes (the calls below check it with `satisfies`).

/** Which jobs (runFilterSchema checks it): every field narrows; none lists every job. */
export interface RunFilter {
  status?: JobStatus;
  /** One job type. */
  type?: string;
  /** ISO 8601: with a status, reached it at or after this time (completed, dead, cancelled; pending and waiting: due; running: started); without one, enqueued. */
  from?: string;
  /** ISO 8601: ... before this time. */
  to?: string;
  idempotencyKey?: string;
  id?: string;
}

export const listJobsSchema = runFilterSchema.extend({
  /** Page size, 1-500. Default 50. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** nextCursor of the previous page. */
  cursor: z.string().max(500).optional(),
});
/** A page of a filter (listJobsSchema checks it). */
export interface ListJobsOptions extends RunFilter {
  /** Page size, 1-500. Default 50. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

/** A filter for a bulk replay: jobs that ended (completed, dead or cancelled). */
export const replayFilterSchema = runFilterSchema.extend({ status: z.enum(ENDED) }).omit({ id: true, idempotencyKey: true });
/** The ended jobs a bulk replay takes (replayFilterSchema checks it). */
export interface ReplayFilter extends Omit<RunFilter, 'status' | 'id' | 'idempotencyKey'> {
  status: 'completed' | 'dead' | 'cancelled';
}


/** What a replay of one job takes. */
export const replayOptionsSchema = z.strictObject({
  /** Keep the original's steps that finished before this one; run it and the rest again. */
  fromStep: storable(200).optional(),
});

/** A ValidationError of one field, shaped as zod's issues are (the HTTP API answers them in a 400). */
const invalid = (path: string, message: string) => new ValidationError(`${path}: ${message}`, [{ code: 'custom', path: [path], message, input: undefined }]);

function parsed<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(`${what}: ${z.prettifyError(result.error)}`, result.error.issues);
  return result.data;
}

const params = (f: z.output<typeof runFilterSchema>): RunFilterParams => ({
  status: f.status ?? null, type: f.type ?? null, from: f.from ?? null, to: f.to ?? null, idempotencyKey: f.idempotencyKey ?? null, id: f.id ?? null,
});

// A cursor is the last row's sort key with its status, opaque to callers (base64url JSON), checked
// value by value as it comes back: a forged one must be a 400, never a value Postgres refuses.
const encode = (status: JobStatus | null, key: RunCursor) => Buffer.from(JSON.stringify([status, ...key])).toString('base64url');
const at = z.iso.datetime({ offset: true });
const CURSOR_KEYS: Record<string, z.ZodType<RunCursor>> = {
  none: z.tuple([z.guid()]),
  pending: z.tuple([z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1), at, z.guid()]),
  timed: z.tuple([at, z.guid()]),
};
function decode(status: JobStatus | null, cursor: string): RunCursor {
  try {
    const [of, ...key] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const shape = CURSOR_KEYS[status === null ? 'none' : status === 'pending' ? 'pending' : 'timed']!.safeParse(key);
    if (of === status && shape.success) return shape.data;
  } catch {
    // malformed: refused below
  }
  throw invalid('cursor', 'not a cursor of this filter (pass the nextCursor of the previous page, with the same status)');
}

/**
 * A page of jobs matching the filter, newest first (pending: next to run first); nextCursor is null on
 * the last page. Each status is read along its own index: a page costs the same at 10M rows.
 */
export async function listJobs(db: Db, options: ListJobsOptions = {}): Promise<{ jobs: JobView[]; nextCursor: string | null }> {
  const o = parsed(listJobsSchema, options satisfies z.input<typeof listJobsSchema>, 'list filter');
  const status = o.status ?? null;
  const found = await runsList(db, params(o), o.limit + 1, o.cursor === undefined ? null : decode(status, o.cursor));
  const page = found.slice(0, o.limit);
  // An id or a key finds its few rows at once: there is no next page.
  const single = o.id !== undefined || o.idempotencyKey !== undefined;
  return { jobs: page.map(view), nextCursor: !single && found.length > o.limit ? encode(status, cursorOf(status, page[page.length - 1]!)) : null };
}

/** Every job matching the filter, page by page (for JSON lines), `max` at most. */
export async function* exportJobs(db: Db, filter: RunFilter = {}, max = 100_000): AsyncGenerator<JobView> {
  const f = parsed(runFilterSchema, filter satisfies z.input<typeof runFilterSchema>, 'export filter');
  if (!Number.isInteger(max) || max < 1) throw invalid('max', `a whole number of jobs, at least 1 (got ${max})`);
  let cursor: string | undefined;
  let sent = 0;
  do {
    const page = await listJobs(db, { ...f, limit: Math.min(500, max - sent), cursor });
    for (const job of page.jobs) yield job;
    sent += page.jobs.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && sent < max);
}

/**
 * Runs an ended job (completed, dead or cancelled) again: a new pending job, due now, with its payload,
 * `replayOf` naming it. With `fromStep`, the original's steps that finished before that step are kept
 * (copied), and that step and the rest run again. JobStateError unless it ended; ValidationError when
 * it has no such step; UnknownJobTypeError when `types` (the drains' types) leaves its type out.
 */
export async function replayJob(db: Db, id: string, options: { fromStep?: string; types?: string[] } = {}): Promise<JobView> {
  const fromStep = parsed(replayOptionsSchema, { fromStep: options.fromStep }, 'replay options').fromStep ?? null;
  const types = options.types ?? null;
  const result = await jobReplay(db, id, uuidv7(), fromStep, types);
  if (result.previous === null) throw new JobNotFoundError(id);
  if (types !== null && !types.includes(result.type!)) throw new UnknownJobTypeError(result.type!, types);
  if (!(ENDED as readonly string[]).includes(result.previous)) throw new JobStateError(id, result.previous, 'only completed, dead or cancelled jobs can be replayed');
  if (!result.step_found || !result.job) throw invalid('fromStep', `job ${id} has no finished step "${fromStep}"`);
  return view(result.job);
}

/**
 * Replays (as replayJob, from the start) the ended jobs of a filter (of `types`, when given) that are
 * no replay themselves and have none yet, oldest first: up to BULK_LIMIT a call; `more`: call again
 * for the rest (the replays made are never taken, so a loop while `more` ends).
 */
export async function replayJobs(db: Db, filter: ReplayFilter, types: string[] | null = null): Promise<BulkResult> {
  const f = parsed(replayFilterSchema, filter satisfies z.input<typeof replayFilterSchema>, 'replay filter');
  const ids = Array.from({ length: BULK_LIMIT }, () => uuidv7());
  const count = await jobsReplay(db, { ...params(f), status: f.status }, ids, types);
  return { count, more: count === BULK_LIMIT };
}
