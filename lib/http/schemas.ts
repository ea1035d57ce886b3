import { z } from 'zod';
import { enqueueOptionsSchema, JOB_STATUSES, MAX_RESULT_WAIT_MS, UnknownJobTypeError, type EnqueueItem, type JobRegistry } from '../queue/index.js';
import { drainStartSchema } from '../wake/runtime.js';
import { parse } from './body.js';
import { HttpError } from './errors.js';

/** Text Postgres can store and compare: no NUL, no lone surrogate (either would fail the query: a 500). */
const storableText = (max: number) =>
  z.string().min(1).max(max).refine((s) => !s.includes('\0') && s.isWellFormed(), 'holds a NUL or a lone surrogate');

/**
 * One item of POST /api/jobs. Strict, so every unknown key is a 400, `__proto__` included (a loose
 * object would drop that one silently). Options are listed here only by name: the engine checks them.
 */
const optionKeys = Object.fromEntries(Object.keys(enqueueOptionsSchema.shape).map((k) => [k, z.unknown().optional()]));
const jobItem = z.strictObject({
  type: z.string().min(1).max(100),
  payload: z.unknown().optional(),
  job: z.never({ error: 'name the job with "type"; "job" is not accepted' }).optional(),
  ...optionKeys,
});
const bulkEnqueue = z.strictObject({ jobs: z.array(z.unknown()).min(1).max(1000) });

/** The :type of /api/types/:type/... */
export const typeParam = z.object({ type: storableText(100) });

/** The :id of /api/jobs/:id (issues name `id`). */
export const jobIdParam = z.object({ id: z.guid() });

/** GET /api/jobs/:id/result: how long to wait for the job to end (0: answer at once). */
export const jobResultQuery = z.strictObject({
  timeoutMs: z.coerce.number().int().min(0).max(MAX_RESULT_WAIT_MS).default(0),
});

export const manualDrainBody = z
  .strictObject({
    budgetMs: z.number().int().positive().optional(),
    types: z.array(storableText(100)).min(1).optional(),
    maxJobs: z.number().int().positive().optional(),
    /** A drain that a kick, a wake's fan-out or a continuation started (lib/wake/runtime.ts httpDrainStarter). */
    start: drainStartSchema.optional(),
    /** The old name of `start` (it named every started drain, not only continuations): still accepted. */
    continuation: drainStartSchema.optional(),
  })
  .refine((b) => !(b.start && b.continuation), { message: 'send start alone: continuation is its old name' })
  .transform(({ continuation, ...b }) => ({ ...b, start: b.start ?? continuation }))
  .refine((b) => !b.start || (b.budgetMs ?? b.types ?? b.maxJobs) === undefined, {
    message: 'start comes alone: without budgetMs, types or maxJobs',
  });

/** The definition of `type` in `jobs`, or UnknownJobTypeError listing the known ones (`where` names a bulk item). */
export function jobOfType(jobs: JobRegistry, type: string, where = '') {
  const job = jobs.get(type);
  if (!job) throw new UnknownJobTypeError(type, [...jobs.keys()].sort(), where);
  return job;
}

/**
 * The items of a POST /api/jobs body: one job `{ type, payload, ...options }` or a bulk `{ jobs: [...] }`.
 * Items are named `jobs[i]` in errors, as the engine names them.
 */
export function enqueueItems(jobs: JobRegistry, body: unknown): { bulk: boolean; items: EnqueueItem[] } {
  const bulk = typeof body === 'object' && body !== null && Object.hasOwn(body, 'jobs');
  const raw = bulk ? parse(bulkEnqueue, body).jobs : [body];
  const items = raw.map((item, i) => {
    const result = jobItem.safeParse(item);
    if (!result.success) {
      const where = bulk ? `jobs[${i}]: ` : '';
      const issues = result.error.issues.map((issue) => (bulk ? { ...issue, path: ['jobs', i, ...issue.path] } : issue));
      throw new HttpError(400, `${where}invalid request: ${z.prettifyError(result.error)}`, { code: 'validation_failed', issues });
    }
    const { type, payload, job: _job, ...options } = result.data;
    return { ...options, job: jobOfType(jobs, type, bulk ? `jobs[${i}]: ` : ''), payload } as EnqueueItem;
  });
  return { bulk, items };
}

/** POST /api/dead/retry and /cancel (and the dashboard's): every dead job, or one type's. */
export const deadFilterBody = z.strictObject({ type: storableText(100).optional() });

/** GET /api/dashboard/data. Not strict: Vercel's rewrite of /api/dashboard/:path* adds `path` to the query. */
export const dashboardDataQuery = z.object({
  range: z.enum(['1h', '6h', '24h', '7d']).default('1h'),
  deadType: storableText(100).optional(),
});
