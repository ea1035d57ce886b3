import { z } from 'zod';
import { allJobs } from '../jobs/index.js';
import { enqueueMany, JOB_STATUSES, UnknownJobTypeError, type Db, type EnqueueItem, type JobDefinition } from '../queue/index.js';
import { parse } from './body.js';

/** Shapes of the API's requests. Enqueue options are checked by the engine's own enqueueOptionsSchema. */
const jobItem = z.looseObject({
  type: z.string().min(1).max(100),
  payload: z.unknown().optional(),
  job: z.never({ error: 'name the job with "type"; "job" is not accepted' }).optional(),
});
const bulkEnqueue = z.strictObject({ jobs: z.array(jobItem).min(1).max(1000) });

export const listJobsQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  type: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.guid().optional(),
});

/** Dynamic route parameter of api/jobs/[id]: Vercel puts it in req.query. */
export const jobIdQuery = z.object({ id: z.guid() });

export const manualDrainBody = z.strictObject({
  budgetMs: z.number().int().positive().optional(),
  types: z.array(z.string().min(1)).min(1).optional(),
  maxJobs: z.number().int().positive().optional(),
});

/** This app's job definition of `type`, or UnknownJobTypeError listing the known ones. */
export function jobOfType(type: string): JobDefinition {
  const job = allJobs.find((j) => j.type === type);
  if (!job) throw new UnknownJobTypeError(type, allJobs.map((j) => j.type).sort());
  return job;
}

/**
 * POST /api/jobs: one job `{ type, payload, ...options }` answers `{ id, duplicate }`; a bulk
 * `{ jobs: [...] }` answers `{ ids, duplicate }`. All or nothing: one bad item inserts none.
 */
export async function enqueueRequest(db: Db, body: unknown) {
  const bulk = typeof body === 'object' && body !== null && 'jobs' in body;
  const parsed = bulk ? parse(bulkEnqueue, body).jobs : [parse(jobItem, body)];
  const items: EnqueueItem[] = parsed.map(({ type, payload, ...options }) => ({ ...options, job: jobOfType(type), payload }));
  const { ids, duplicate } = await enqueueMany(db, items);
  return bulk ? { ids, duplicate } : { id: ids[0]!, duplicate: duplicate[0]! };
}
