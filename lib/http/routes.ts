import type { Context } from 'hono';
import { z } from 'zod';
import { eventSchema, listJobsSchema, replayFilterSchema, replayOptionsSchema, runFilterSchema, type Config, type EnqueueItem } from '../queue/index.js';
import { log } from '../queue/log.js';
import { invocationDeadline } from '../wake/kick.js';
import { resolveRuntime } from '../wake/runtime.js';
import type { HttpHandler, HttpRoutes, SluiceEnv } from './app.js';
import { authorize } from './auth.js';
import { health } from './health.js';
import { jobEvents, jobResult } from './job-events.js';
import type { RouteHost } from './host.js';
import { jsonBody, parse, queryObject } from './body.js';
import { deadFilterBody, enqueueItems, jobIdParam, jobOfType, manualDrainBody, typeParam } from './schemas.js';

/** When a drain of this request must be done (invocationDeadline: the adapter's deadline, else Vercel's, else the setting). */
const drainDeadline = (c: Context, settings: Config, start: number) => invocationDeadline(settings, c.env?.deadline?.(), start);

/** What this request's platform offers beyond the response: waitUntil, and how to start another drain. */
const runtimeOf = (c: Context, settings: Config) => resolveRuntime(settings, c.env ?? {}, c.req.url);

/** Whether a job can run now (a delayed one must not run early: the tick picks it up when due). */
const dueNow = (item: EnqueueItem, now: number) =>
  (item.runAt === undefined || +new Date(item.runAt) <= now) && !item.delayMs && !item.debounce;

/** POST /api/jobs: one job or a bulk of up to 1,000, all or nothing. */
const enqueueJobs: HttpHandler = async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  await authorize(c, 'ENQUEUE_SECRET');
  const { bulk, items } = enqueueItems(sluice.jobs, await jsonBody(c.req.raw, z.unknown(), { limit: s.SLUICE_MAX_BODY_BYTES }));
  const { ids, duplicate, replaced } = await sluice.enqueueMany(items);
  const now = Date.now();
  // The kick runs after the response (waitUntil); the response never waits for it.
  if (s.SLUICE_KICK && items.some((item) => dueNow(item, now))) {
    void sluice.kick({ runtime: runtimeOf(c, s), deadline: drainDeadline(c, s, now) });
  }
  return c.json(bulk ? { ids, duplicate, replaced } : { id: ids[0], duplicate: duplicate[0], replaced: replaced[0] }, 202);
};

/** GET /api/jobs?status&type&from&to&idempotencyKey&id&limit&cursor: a page of jobs, newest first. */
const listJobs: HttpHandler = async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  return c.json(await c.var.sluice.admin.list(parse(listJobsSchema, queryObject(c.req.raw))));
};

/** GET /api/jobs/export?<the list's filter>&max: every job of the filter as JSON lines (a JobView a line), newest first; a failure part way ends it with an `{ error }` line. */
const exportJobs: HttpHandler = async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  const { max, ...filter } = parse(runFilterSchema.extend({ max: z.coerce.number().int().min(1).max(1_000_000).default(100_000) }), queryObject(c.req.raw));
  const lines = c.var.sluice.admin.export(filter, max)[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  // Pulled a page at a time as the client reads: a large export never sits in memory.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await lines.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      } catch (error) {
        // The status line went out with the first bytes: a last line says the export is cut short.
        log.error('export failed', { error });
        controller.enqueue(encoder.encode(`${JSON.stringify({ error: 'the export failed part way: the lines above are not all the jobs of the filter' })}\n`));
        controller.close();
      }
    },
    // The client went away: stop reading pages.
    async cancel() {
      await lines.return?.();
    },
  });
  return new Response(body, { headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' } });
};

/** POST /api/jobs/:id/replay { fromStep? }: the ended job runs again as a new job, due now: a kick. */
const replayJob: HttpHandler = async (c) => {
  const { sluice } = c.var;
  await authorize(c, 'ADMIN_SECRET');
  const { id } = parse(jobIdParam, { id: c.req.param('id') });
  const options = await jsonBody(c.req.raw, replayOptionsSchema, { limit: sluice.settings().SLUICE_MAX_BODY_BYTES, optional: true });
  const job = await sluice.admin.replay(id, options ?? {});
  kickFrom(c);
  return c.json(job, 201);
};

/** POST /api/jobs/replay { status, type?, from?, to? }: the ended jobs of a filter run again, BULK_LIMIT a call. */
const replayJobs: HttpHandler = async (c) => {
  const { sluice } = c.var;
  await authorize(c, 'ADMIN_SECRET');
  const result = await sluice.admin.replayMany(await jsonBody(c.req.raw, replayFilterSchema, { limit: sluice.settings().SLUICE_MAX_BODY_BYTES }));
  if (result.count > 0) kickFrom(c);
  return c.json(result);
};

const admin = (act: (id: string, sluice: RouteHost) => Promise<unknown>): HttpHandler => async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  return c.json(await act(parse(jobIdParam, { id: c.req.param('id') }).id, c.var.sluice));
};

/** A GET of the admin API that takes no parameters: the admin secret, then one call. */
const adminRead = (read: (sluice: RouteHost) => Promise<unknown>): HttpHandler => async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  return c.json(await read(c.var.sluice));
};

/** POST /api/types/:type/pause and /resume: every drain skips (or claims again) the type's jobs; a resume kicks. */
const pauseOrResume = (action: 'pause' | 'resume'): HttpHandler => async (c) => {
  const { sluice } = c.var;
  await authorize(c, 'ADMIN_SECRET');
  const { type } = parse(typeParam, { type: c.req.param('type') });
  if (action === 'pause') return c.json({ ...(await sluice.admin.pause(type)), paused: true });
  const resumed = await sluice.admin.resume(type);
  if (resumed.resumed) kickFrom(c);
  return c.json({ ...resumed, paused: false });
};

/** Starts a drain for jobs this request made due now (a retry, a resume), after the response. */
export function kickFrom(c: Context<SluiceEnv>): void {
  const { sluice } = c.var;
  const s = sluice.settings();
  if (s.SLUICE_KICK) void sluice.kick({ runtime: runtimeOf(c, s), deadline: drainDeadline(c, s, Date.now()) });
}

/** POST /api/jobs/:id/retry: the dead job is due now, so a kick starts it rather than the next tick. */
const retryJob: HttpHandler = async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  const job = await c.var.sluice.admin.retry(parse(jobIdParam, { id: c.req.param('id') }).id);
  kickFrom(c);
  return c.json(job);
};

/** POST /api/dead/retry and /api/dead/cancel { type? }: every dead job of the filter, BULK_LIMIT a call. */
const bulkDead = (action: 'retry' | 'cancel'): HttpHandler => async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  await authorize(c, 'ADMIN_SECRET');
  const filter = await jsonBody(c.req.raw, deadFilterBody, { limit: s.SLUICE_MAX_BODY_BYTES, optional: true });
  if (action === 'cancel') return c.json(await sluice.admin.cancelDead(filter));
  const result = await sluice.admin.retryDead(filter);
  if (result.count > 0) kickFrom(c);
  return c.json(result);
};

/** GET /api/cron/drain: the cron tick, a wake with reason 'tick' (idle hint, fan-out, continuation: lib/wake/wake.ts). */
const cronDrain: HttpHandler = async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  await authorize(c, 'CRON_SECRET');
  return c.json(await sluice.wake({ reason: 'tick', deadline: drainDeadline(c, s, Date.now()), runtime: runtimeOf(c, s) }));
};

/** POST /api/drain { budgetMs?, types?, maxJobs? }: a drain on demand, e.g. from an external scheduler. */
const manualDrain: HttpHandler = async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  await authorize(c, 'DRAIN_SECRET', 'CRON_SECRET');
  const start = Date.now();
  const body = await jsonBody(c.req.raw, manualDrainBody, { limit: s.SLUICE_MAX_BODY_BYTES, optional: true });
  if (body?.start) {
    // Started by a kick or another drain: answer at once and drain after the response, where the platform allows.
    const runtime = runtimeOf(c, s);
    const drained = sluice.wake({ ...body.start, deadline: drainDeadline(c, s, start), runtime });
    if (!runtime.runsAfterResponse) return c.json(await drained);
    runtime.waitUntil(drained.catch((error) => log.error('drain failed', { error })));
    return c.json({ accepted: true }, 202);
  }
  const { budgetMs, types, maxJobs } = body ?? {};
  types?.forEach((type) => jobOfType(sluice.jobs, type)); // an unknown type is a 400, not a drain that kills its jobs
  const deadline = Math.min(drainDeadline(c, s, start), budgetMs === undefined ? Infinity : start + budgetMs);
  return c.json(await sluice.drain({ deadline, types, maxJobs }));
};

/** DELETE /api/jobs/:id: cancels the job and its unfinished children; a cancelled child's waiting parent is due now: a kick. */
const cancelJob: HttpHandler = async (c) => {
  await authorize(c, 'ADMIN_SECRET');
  const cancelled = await c.var.sluice.admin.cancel(parse(jobIdParam, { id: c.req.param('id') }).id);
  kickFrom(c);
  return c.json({ cancelled });
};

/** POST /api/events { name, key?, data? }: sends an event; the waiting jobs it was delivered to start by a kick. */
const sendEvent: HttpHandler = async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  await authorize(c, 'ENQUEUE_SECRET');
  const { name, key, data } = await jsonBody(c.req.raw, eventSchema, { limit: s.SLUICE_MAX_BODY_BYTES });
  const sent = await sluice.sendEvent(name, { key, data });
  if (sent.delivered > 0) kickFrom(c);
  return c.json(sent, 202);
};

/** Sluice's routes; docs/http-api.md is their manual. */
export const sluiceRoutes: HttpRoutes = {
  '/api/jobs': { POST: enqueueJobs, GET: listJobs },
  // Before /api/jobs/:id, which would take "export" and "replay" for ids.
  '/api/jobs/export': { GET: exportJobs },
  '/api/jobs/replay': { POST: replayJobs },
  '/api/jobs/:id': { GET: admin((id, s) => s.admin.get(id)), DELETE: cancelJob },
  '/api/jobs/:id/replay': { POST: replayJob },
  '/api/jobs/:id/retry': { POST: retryJob },
  '/api/jobs/:id/result': { GET: jobResult },
  '/api/jobs/:id/events': { GET: jobEvents },
  '/api/events': { POST: sendEvent },
  '/api/dead/retry': { POST: bulkDead('retry') },
  '/api/dead/cancel': { POST: bulkDead('cancel') },
  '/api/schedules': { GET: adminRead(async (s) => ({ schedules: await s.admin.schedules() })) },
  '/api/types': { GET: adminRead(async (s) => ({ types: await s.admin.types() })) },
  '/api/types/:type/pause': { POST: pauseOrResume('pause') },
  '/api/types/:type/resume': { POST: pauseOrResume('resume') },
  '/api/queue/stats': { GET: adminRead((s) => s.stats()) },
  '/api/cron/drain': { GET: cronDrain },
  '/api/drain': { POST: manualDrain },
  '/api/health': { GET: health },
};
