// What the dashboard's run-history routes accept (lib/dashboard/runs.ts): the engine's own filter
// schemas (lib/queue/ops/runs.ts), so the page and the bearer API (GET /api/jobs) take the same fields.
// A bad filter is a 400 carrying zod's issues (lib/http/body.ts parse), never a 500 from a statement.
import { z } from 'zod';
import { listJobsSchema, replayFilterSchema, replayOptionsSchema } from '../queue/index.js';

/**
 * GET /api/dashboard/jobs?status=&type=&from=&to=&idempotencyKey=&id=&limit=&cursor=. Vercel's rewrite
 * of /api/dashboard/:path* adds `path` to the query: taken and dropped, every other unknown key a 400.
 */
export const runsQuery = listJobsSchema.extend({ path: z.string().optional() }).transform(({ path: _path, ...query }) => query);

/** POST /api/dashboard/jobs/:id/replay { fromStep? }: the whole job again, or from one of its finished steps. */
export const replayBody = replayOptionsSchema;

/** POST /api/dashboard/replay { filter: { status: completed | dead | cancelled, type?, from?, to? } }. */
export const replayManyBody = z.strictObject({ filter: replayFilterSchema });
