import { z } from 'zod';
import type { Config, EnqueueItem } from '../queue/index.js';
import { log } from '../queue/log.js';
import { invocationDeadline } from '../wake/kick.js';
import { resolveRuntime } from '../wake/runtime.js';
import type { RouteHandler, RouteTable } from './app.js';
import { authorize } from './auth.js';
import { health } from './health.js';
import { jsonBody, parse, queryObject } from './body.js';
import { deadFilterBody, enqueueItems, jobIdParam, jobOfType, listJobsQuery, manualDrainBody, typeParam } from './schemas.js';
import type { Context } from 'hono';

/** When a drain of this request must be done (invocationDeadline: the adapter's deadline, else Vercel's, else the setting). */
const drainDeadline = (c: Context, settings: Config, start: number) => invocationDeadline(settings, c.env?.deadline?.(), start);

/** What this request's platform offers beyond the response: waitUntil, and how to start another drain. */
const runtimeOf = (c: Context, settings: Config) => resolveRuntime(settings, c.env ?? {}, c.req.url);

/** Whether a job can run now (a delayed one must not run early: the tick picks it up when due). */
const dueNow = (item: EnqueueItem, now: number) =>
  (item.runAt === undefined || +new Date(item.runAt) <= now) && !item.delayMs && !item.debounce;

/** POST /api/jobs: one job or a bulk of up to 1,000, all or nothing. */
const enqueueJobs: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  await authorize(c, sluice, 'ENQUEUE_SECRET');
  const { bulk, items } = enqueueItems(sluice.jobs, await jsonBody(c.req.raw, z.unknown(), { limit: s.SLUICE_MAX_BODY_BYTES }));
  const { ids, duplicate } = await sluice.enqueueMany(items);
  const now = Date.now();
  // The kick runs after the response (waitUntil); the response never waits for it.
  if (s.SLUICE_KICK && items.some((item) => dueNow(item, now))) {
    void sluice.kick({ runtime: runtimeOf(c, s), deadline: drainDeadline(c, s, now) });
  }
  return c.json(bulk ? { ids, duplicate } : { id: ids[0], duplicate: duplicate[0] }, 202);
};

const listJobs: RouteHandler = async (c, sluice) => {
  await authorize(c, sluice, 'ADMIN_SECRET');
  return c.json(await sluice.admin.list(parse(listJobsQuery, queryObject(c.req.raw))));
};

const admin = (act: (id: string, sluice: Parameters<RouteHandler>[1]) => Promise<unknown>): RouteHandler => async (c, sluice) => {
  await authorize(c, sluice, 'ADMIN_SECRET');
  return c.json(await act(parse(jobIdParam, { id: c.req.param('id') }).id, sluice));
};

/** POST /api/types/:type/pause and /resume: every drain skips (or claims again) the type's jobs; a resume kicks. */
const pauseOrResume = (action: 'pause' | 'resume'): RouteHandler => async (c, sluice) => {
  const s = sluice.settings();
  await authorize(c, sluice, 'ADMIN_SECRET');
  const { type } = parse(typeParam, { type: c.req.param('type') });
  if (action === 'pause') return c.json({ ...(await sluice.admin.pause(type)), paused: true });
  const resumed = await sluice.admin.resume(type);
  if (resumed.resumed) kickFrom(c, sluice);
  return c.json({ ...resumed, paused: false });
};

/** Starts a drain for jobs this request made due now (a retry, a resume), after the response. */
export function kickFrom(c: Context, sluice: Parameters<RouteHandler>[1]): void {
  const s = sluice.settings();
  if (s.SLUICE_KICK) void sluice.kick({ runtime: runtimeOf(c, s), deadline: drainDeadline(c, s, Date.now()) });
}

/** POST /api/jobs/:id/retry: the dead job is due now, so a kick starts it rather than the next tick. */
const retryJob: RouteHandler = async (c, sluice) => {
  await authorize(c, sluice, 'ADMIN_SECRET');
  const job = await sluice.admin.retry(parse(jobIdParam, { id: c.req.param('id') }).id);
  kickFrom(c, sluice);
  return c.json(job);
};

/** POST /api/dead/retry and /api/dead/cancel { type? }: every dead job of the filter, BULK_LIMIT a call. */
const bulkDead = (action: 'retry' | 'cancel'): RouteHandler => async (c, sluice) => {
  const s = sluice.settings();
  await authorize(c, sluice, 'ADMIN_SECRET');
  const filter = await jsonBody(c.req.raw, deadFilterBody, { limit: s.SLUICE_MAX_BODY_BYTES, optional: true });
  if (action === 'cancel') return c.json(await sluice.admin.cancelDead(filter));
  const result = await sluice.admin.retryDead(filter);
  if (result.count > 0) kickFrom(c, sluice);
  return c.json(result);
};

/** GET /api/cron/drain: the tick (idle hint, fan-out, continuation: lib/wake/tick.ts). */
const cronDrain: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  await authorize(c, sluice, 'CRON_SECRET');
  return c.json(await sluice.tick({ reason: 'tick', deadline: drainDeadline(c, s, Date.now()), runtime: runtimeOf(c, s) }));
};

/** POST /api/drain { budgetMs?, types?, maxJobs? }: a drain on demand, e.g. from an external scheduler. */
const manualDrain: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  await authorize(c, sluice, 'DRAIN_SECRET', 'CRON_SECRET');
  const start = Date.now();
  const body = await jsonBody(c.req.raw, manualDrainBody, { limit: s.SLUICE_MAX_BODY_BYTES, optional: true });
  if (body?.continuation) {
    // Started by another drain: answer at once and drain after the response, where the platform allows.
    const runtime = runtimeOf(c, s);
    const drained = sluice.tick({ ...body.continuation, deadline: drainDeadline(c, s, start), runtime });
    if (!runtime.runsAfterResponse) return c.json(await drained);
    runtime.waitUntil(drained.catch((error) => log.error('drain failed', { error })));
    return c.json({ accepted: true }, 202);
  }
  const { budgetMs, types, maxJobs } = body ?? {};
  types?.forEach((type) => jobOfType(sluice.jobs, type)); // an unknown type is a 400, not a drain that kills its jobs
  const deadline = Math.min(drainDeadline(c, s, start), budgetMs === undefined ? Infinity : start + budgetMs);
  return c.json(await sluice.drain({ deadline, types, maxJobs }));
};

/** Sluice's routes; docs/http-api.md is their manual. */
export const sluiceRoutes: RouteTable = {
  '/api/jobs': { POST: enqueueJobs, GET: listJobs },
  '/api/jobs/:id': { GET: admin((id, s) => s.admin.get(id)), DELETE: admin(async (id, s) => ({ cancelled: await s.admin.cancel(id) })) },
  '/api/jobs/:id/retry': { POST: retryJob },
  '/api/dead/retry': { POST: bulkDead('retry') },
  '/api/dead/cancel': { POST: bulkDead('cancel') },
  '/api/schedules': { GET: async (c, sluice) => { await authorize(c, sluice, 'ADMIN_SECRET'); return c.json({ schedules: await sluice.admin.schedules() }); } },
  '/api/types': { GET: async (c, sluice) => { await authorize(c, sluice, 'ADMIN_SECRET'); return c.json({ types: await sluice.admin.types() }); } },
  '/api/types/:type/pause': { POST: pauseOrResume('pause') },
  '/api/types/:type/resume': { POST: pauseOrResume('resume') },
  '/api/queue/stats': { GET: async (c, sluice) => { await authorize(c, sluice, 'ADMIN_SECRET'); return c.json(await sluice.stats()); } },
  '/api/cron/drain': { GET: cronDrain },
  '/api/drain': { POST: manualDrain },
  '/api/health': { GET: health },
};
