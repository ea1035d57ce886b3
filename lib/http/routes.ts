import { getDeadline } from '@vercel/functions';
import { z } from 'zod';
import { loggable, type Config } from '../queue/index.js';
import type { RouteHandler, RouteTable } from './app.js';
import { authorize, bearerMatches, type SecretName } from './auth.js';
import { jsonBody, parse, queryObject } from './body.js';
import { enqueueItems, jobIdParam, jobOfType, listJobsQuery, manualDrainBody } from './schemas.js';
import type { Context } from 'hono';

const auth = (c: Context, settings: Config, ...names: [SecretName, ...SecretName[]]) =>
  authorize(c.req.header('authorization'), settings, ...names);

/**
 * When a drain started at `start` must be done: the invocation's deadline where the platform gives one
 * (the adapter's, else Vercel's getDeadline()), else start + DRAIN_MAX_DURATION_MS, minus
 * DRAIN_SAFETY_MARGIN_MS for the last write and the response.
 */
function drainDeadline(c: Context, settings: Config, start: number): number {
  const platform = c.env?.deadline ? c.env.deadline() : getDeadline()?.getTime();
  return (platform ?? start + settings.DRAIN_MAX_DURATION_MS) - settings.DRAIN_SAFETY_MARGIN_MS;
}

/** POST /api/jobs: one job or a bulk of up to 1,000, all or nothing. */
const enqueueJobs: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  auth(c, s, 'ENQUEUE_SECRET');
  const { bulk, items } = enqueueItems(sluice.jobs, await jsonBody(c.req.raw, z.unknown(), { limit: s.SLUICE_MAX_BODY_BYTES }));
  const { ids, duplicate } = await sluice.enqueueMany(items);
  return c.json(bulk ? { ids, duplicate } : { id: ids[0], duplicate: duplicate[0] }, 202);
};

const listJobs: RouteHandler = async (c, sluice) => {
  auth(c, sluice.settings(), 'ADMIN_SECRET');
  return c.json(await sluice.admin.list(parse(listJobsQuery, queryObject(c.req.raw))));
};

const admin = (act: (id: string, sluice: Parameters<RouteHandler>[1]) => Promise<unknown>): RouteHandler => async (c, sluice) => {
  auth(c, sluice.settings(), 'ADMIN_SECRET');
  return c.json(await act(parse(jobIdParam, { id: c.req.param('id') }).id, sluice));
};

const cronDrain: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  auth(c, s, 'CRON_SECRET');
  return c.json(await sluice.drain({ deadline: drainDeadline(c, s, Date.now()) }));
};

/** POST /api/drain { budgetMs?, types?, maxJobs? }: a drain on demand, e.g. from an external scheduler. */
const manualDrain: RouteHandler = async (c, sluice) => {
  const s = sluice.settings();
  auth(c, s, 'DRAIN_SECRET', 'CRON_SECRET');
  const start = Date.now();
  const { budgetMs, types, maxJobs } = await jsonBody(c.req.raw, manualDrainBody, { limit: s.SLUICE_MAX_BODY_BYTES, optional: true });
  types?.forEach((type) => jobOfType(sluice.jobs, type)); // an unknown type is a 400, not a drain that kills its jobs
  const deadline = Math.min(drainDeadline(c, s, start), budgetMs === undefined ? Infinity : start + budgetMs);
  return c.json(await sluice.drain({ deadline, types, maxJobs }));
};

/**
 * GET /api/health: 200, or 503 when jobs wait too long, too many are dead, drains have stopped (the
 * dead-man switch) or the database is down.
 * With HEALTH_SECRET set, only callers holding it see the counts; others get { ok } and the status.
 */
const health: RouteHandler = async (c, sluice) => {
  const { ALERT_OLDEST_PENDING_MS, ALERT_DEAD_MAX, ALERT_DRAIN_STALE_MS, HEALTH_SECRET } = sluice.settings();
  const detailed = HEALTH_SECRET === undefined || bearerMatches(c.req.header('authorization'), HEALTH_SECRET);
  const stats = await sluice.stats().catch((error) => void console.error('[health] database check failed:', loggable(error)));
  if (!stats) return c.json(detailed ? { ok: false, problems: ['database unreachable'] } : { ok: false }, 503);
  const { pending, running, dead, oldestPendingAgeMs, lastDrainAgeMs } = stats;
  // The dead-man switch: work has been due a while and no drain has ended well for as long.
  const drainsStopped = oldestPendingAgeMs > ALERT_DRAIN_STALE_MS && (lastDrainAgeMs === null || lastDrainAgeMs > ALERT_DRAIN_STALE_MS);
  const problems = [
    ...(oldestPendingAgeMs > ALERT_OLDEST_PENDING_MS ? [`oldest pending job has waited ${oldestPendingAgeMs} ms (> ${ALERT_OLDEST_PENDING_MS})`] : []),
    ...(dead > ALERT_DEAD_MAX ? [`${dead} dead jobs (> ${ALERT_DEAD_MAX})`] : []),
    ...(drainsStopped
      ? [`no drain has ended well ${lastDrainAgeMs === null ? 'yet' : `for ${lastDrainAgeMs} ms`} while jobs are due (> ${ALERT_DRAIN_STALE_MS}): are the crons running?`]
      : []),
  ];
  const ok = problems.length === 0;
  const body = { ok, problems, pending, running, dead, oldestPendingAgeMs, lastDrainAgeMs };
  return c.json(detailed ? body : { ok }, ok ? 200 : 503);
};

/** Sluice's routes; README "HTTP API" is their manual. */
export const sluiceRoutes: RouteTable = {
  '/api/jobs': { POST: enqueueJobs, GET: listJobs },
  '/api/jobs/:id': { GET: admin((id, s) => s.admin.get(id)), DELETE: admin(async (id, s) => ({ cancelled: await s.admin.cancel(id) })) },
  '/api/jobs/:id/retry': { POST: admin((id, s) => s.admin.retry(id)) },
  '/api/queue/stats': { GET: async (c, sluice) => { auth(c, sluice.settings(), 'ADMIN_SECRET'); return c.json(await sluice.stats()); } },
  '/api/cron/drain': { GET: cronDrain },
  '/api/drain': { POST: manualDrain },
  '/api/health': { GET: health },
};
