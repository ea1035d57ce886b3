// What the dashboard's page (lib/dashboard/client) and its server routes (lib/dashboard/routes.ts and
// runs.ts) say to each other: the JSON of GET /api/dashboard/data, the run history's paths, and the
// paths of its actions. The page's views are hash routes: the overview (#range=1h&dead=<type>), the runs
// browser (#/runs?<the list's filter>) and a job's page (#/jobs/<id>; the old #job=<id> opens it).
import type { JobView, QueueHistory, QueueStats, TypeView } from '../queue/index.js';
import type { ScheduleView } from '../wake/schedules.js';

/** How far back the charts look (ms), and a point every `step` seconds. */
export const DASHBOARD_RANGES = {
  '1h': { ms: 3_600_000, step: 60 },
  '6h': { ms: 6 * 3_600_000, step: 60 },
  '24h': { ms: 24 * 3_600_000, step: 300 },
  '7d': { ms: 7 * 24 * 3_600_000, step: 3_600 },
} as const;
export type DashboardRange = keyof typeof DASHBOARD_RANGES;

/** GET /api/dashboard/data?range=1h|6h|24h|7d&deadType=<type>: everything the page shows. */
export interface DashboardData extends QueueHistory {
  /** The server's clock (ISO 8601). */
  now: string;
  range: DashboardRange;
  stats: QueueStats;
  /** When a drain last ended well (ISO 8601), null if none has. */
  lastDrainAt: string | null;
  /** What /api/health would report now (empty: healthy). */
  problems: string[];
  /** The newest dead jobs (at most 50), of `deadType` when given; `total` counts every dead job of the filter. */
  dead: { jobs: JobView[]; total: number; type: string | null };
  /** The instance's types (paused or not, flow limits) and any other paused one. */
  types: TypeView[];
  schedules: ScheduleView[];
}

/**
 * The page's actions, all POST with the header `x-sluice-csrf: <token>` (the token is in the page's
 * `<meta name="sluice-csrf">`), answering JSON:
 * - /api/dashboard/jobs/:id/retry    -> JobView           (a dead job, pending again)
 * - /api/dashboard/jobs/:id/cancel   -> JobView           (a pending or dead job, cancelled; a running one, cancelRequestedAt set)
 * - /api/dashboard/dead/retry  { type?: string } -> { count: number }   (every dead job of the filter)
 * - /api/dashboard/dead/cancel { type?: string } -> { count: number }
 * - /api/dashboard/types/:type/pause | resume  -> TypeView-like { type, paused }
 * - /api/dashboard/logout -> 303 to /api/dashboard
 * - /api/dashboard/jobs/:id/replay { fromStep?: string } -> 201 JobView (a new pending job, replayOf = :id;
 *   only a completed, dead or cancelled job: 409 otherwise; an unknown step: 400)
 * - /api/dashboard/replay { filter: { status: 'completed' | 'dead' | 'cancelled', type?, from?, to? } } -> { count, more }
 *   (every ended job of the filter replayed, BULK_LIMIT a call: `more` says to press again)
 * GET /api/dashboard/jobs?status=&type=&from=&to=&idempotencyKey=&id=&limit=&cursor= -> { jobs: JobView[], nextCursor }
 *   (the runs browser: the engine's filter of GET /api/jobs, newest first; nextCursor is opaque, null on the last page)
 * GET /api/dashboard/jobs/:id -> JobDetail (payload, attemptLog, last error, steps with durations, children,
 *   replays, replayOf, progress, result): the job page, read again every second until the job ends.
 * Errors: { error } with 4xx; a bad query or body: 400 { error, issues } (zod's).
 * GET /api/dashboard -> the page (or the login form); POST /api/dashboard/login (form field `password`).
 * GET /api/dashboard/assets/<name> -> app.js, app.css, uplot.js, uplot.css.
 */
export type { TypeTimes } from '../queue/index.js';
export const DASHBOARD_BASE = '/api/dashboard';
