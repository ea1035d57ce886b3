import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { HttpHandler, HttpRoutes, SluiceEnv } from '../http/app.js';
import { formBody, jsonBody, parse, queryObject } from '../http/body.js';
import { HttpError, orUnavailable } from '../http/errors.js';
import type { RouteHost } from '../http/host.js';
import { kickFrom } from '../http/routes.js';
import { dashboardDataQuery, deadFilterBody, jobIdParam, typeParam } from '../http/schemas.js';
import { throttle } from '../http/throttle.js';
import { healthProblems } from '../queue/index.js';
import { DASHBOARD_ASSETS } from './assets.generated.js';
import { DASHBOARD_BASE, DASHBOARD_RANGES, type DashboardData } from './contract.js';
import { dashboardPage, loginPage } from './html.js';
import { runRoutes } from './runs.js';
import { clearedCookie, endSession, passwordMatches, SESSION_COOKIE, sessionCookie, sessionOf, startSession, type Session } from './session.js';

/** The page loads nothing from elsewhere and runs no inline script; no other site may frame it. */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with the page's own
  // POSTs, which cannot be told from a sandboxed frame's. Other sites still get no referrer.
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};
/** A login form or a logout is a few fields: anything larger is refused unread. */
const FORM_LIMIT = 4_096;

function adminSecret(sluice: RouteHost): string {
  const secret = sluice.settings().ADMIN_SECRET;
  if (secret === undefined) throw new HttpError(500, 'server misconfigured: ADMIN_SECRET is not set (the dashboard logs in with it)');
  return secret;
}

/** The request's session, or null. A lookup that fails is a 503 (orUnavailable), never a 500. */
const sessionIn = (c: Context<SluiceEnv>) =>
  orUnavailable(() => sessionOf(() => c.var.sluice.db, adminSecret(c.var.sluice), getCookie(c, SESSION_COOKIE)), 'the session lookup');

/**
 * A request another site made the browser send: refused before anything else. Browsers say where a
 * request comes from in Sec-Fetch-Site (same-origin, or none: typed or bookmarked); older ones only in
 * Origin (compared by host: a proxy may have ended TLS). Without either it is no browser's request on
 * another site's behalf (curl, a test), and the CSRF token still guards it.
 */
function refuseCrossSite(c: Context<SluiceEnv>): void {
  const site = c.req.header('sec-fetch-site');
  const origin = c.req.header('origin');
  let foreign = site !== undefined && site !== 'same-origin' && site !== 'none';
  if (site === undefined && origin !== undefined) {
    try {
      foreign = new URL(origin).host !== new URL(c.req.url).host;
    } catch {
      foreign = true; // "null" (a sandboxed frame, a redirect from elsewhere) or garbage
    }
  }
  if (foreign) throw new HttpError(403, 'cross-site request refused');
}

/** A read: a valid session, else 401. */
async function reader(c: Context<SluiceEnv>): Promise<Session> {
  const session = await sessionIn(c);
  if (!session) throw new HttpError(401, 'log in at /api/dashboard first');
  return session;
}

/** An action: same site, a valid session and its CSRF token (header, or the form field for a plain form). */
async function actor(c: Context<SluiceEnv>, formToken?: string | null): Promise<Session> {
  refuseCrossSite(c);
  const session = await reader(c);
  if (!session.csrfMatches(c.req.header('x-sluice-csrf') ?? formToken)) throw new HttpError(403, 'missing or wrong CSRF token');
  return session;
}

const html = (c: Context<SluiceEnv>, body: string, status: 200 | 401 | 429 = 200, headers: Record<string, string> = {}) =>
  c.html(body, status, { ...PAGE_HEADERS, ...headers });

const page: HttpHandler = async (c) => {
  const session = await sessionIn(c);
  return session ? html(c, dashboardPage({ csrf: session.csrf })) : html(c, loginPage({}));
};

const login: HttpHandler = async (c) => {
  refuseCrossSite(c);
  const secret = adminSecret(c.var.sluice);
  const password = (await formBody(c.req.raw, FORM_LIMIT)).get('password') ?? '';
  const right = passwordMatches(secret, password);
  // Counted like a wrong bearer token, by address (lib/http/throttle.ts); an empty form is no guess.
  const throttled = await throttle(c, password === '' ? 'none' : right ? 'right' : 'wrong');
  if (throttled) {
    const error = `Too many wrong passwords from this address: try again in ${Math.ceil(throttled.retryAfterS / 60)} min.`;
    return html(c, loginPage({ error }), 429, { 'Retry-After': String(throttled.retryAfterS) });
  }
  if (!right) return html(c, loginPage({ error: 'Wrong password.' }), 401);
  const cookie = await orUnavailable(() => startSession(c.var.sluice.db, secret), 'starting a session');
  return c.body(null, 303, { Location: DASHBOARD_BASE, 'Set-Cookie': sessionCookie(cookie) });
};

const logout: HttpHandler = async (c) => {
  const form = c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded') ? await formBody(c.req.raw, FORM_LIMIT) : null;
  const session = await actor(c, form?.get('csrf'));
  // Deleted on the server, not only in this browser: a copy of the cookie is refused from now on.
  await endSession(c.var.sluice.db, session);
  return c.body(null, 303, { Location: DASHBOARD_BASE, 'Set-Cookie': clearedCookie() });
};

const asset: HttpHandler = (c) => {
  const name = c.req.param('name')!;
  const found = Object.hasOwn(DASHBOARD_ASSETS, name) ? DASHBOARD_ASSETS[name] : undefined;
  if (!found) return c.json({ error: 'not found' }, 404);
  if (c.req.header('if-none-match') === found.etag) return c.body(null, 304, { ETag: found.etag, 'Cache-Control': 'no-cache' });
  // Revalidated on every load (a 304 while unchanged): the page's links carry no version, and a deploy
  // must never pair a new page with an old script.
  return c.body(found.body, 200, { 'Content-Type': found.contentType, ETag: found.etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
};

const data: HttpHandler = async (c) => {
  const { sluice } = c.var;
  await reader(c);
  const { range, deadType } = parse(dashboardDataQuery, queryObject(c.req.raw));
  const [stats, history, dead, types, schedules] = await Promise.all([
    sluice.stats(), sluice.admin.history(DASHBOARD_RANGES[range].ms, DASHBOARD_RANGES[range].step), sluice.admin.dead({ type: deadType }), sluice.admin.types(), sluice.admin.schedules(),
  ]);
  const now = Date.now();
  const body: DashboardData = {
    now: new Date(now).toISOString(),
    range,
    stats,
    lastDrainAt: stats.lastDrainAgeMs === null ? null : new Date(now - stats.lastDrainAgeMs).toISOString(),
    problems: healthProblems(stats, sluice.settings()),
    ...history,
    dead: { ...dead, type: deadType ?? null },
    types,
    schedules,
  };
  return c.json(body);
};

/** A POST of the page: checked by actor(), then one engine call; `kicks` when it made jobs due now. */
const action = (act: (c: Context<SluiceEnv>, sluice: RouteHost) => Promise<unknown>, kicks = false): HttpHandler => async (c) => {
  await actor(c);
  const result = await act(c, c.var.sluice);
  if (kicks) kickFrom(c);
  return c.json(result);
};
const jobId = (c: Context<SluiceEnv>) => parse(jobIdParam, { id: c.req.param('id') }).id;
const typeOf = (c: Context<SluiceEnv>) => parse(typeParam, { type: c.req.param('type') }).type;
const filter = async (c: Context<SluiceEnv>) =>
  jsonBody(c.req.raw, deadFilterBody, { limit: c.var.sluice.settings().SLUICE_MAX_BODY_BYTES, optional: true });

/** The dashboard's routes (docs/operations.md, "Dashboard"); mounted with Sluice's own. */
export const dashboardRoutes: HttpRoutes = {
  [DASHBOARD_BASE]: { GET: page },
  [`${DASHBOARD_BASE}/login`]: { POST: login },
  [`${DASHBOARD_BASE}/logout`]: { POST: logout },
  [`${DASHBOARD_BASE}/assets/:name`]: { GET: asset },
  [`${DASHBOARD_BASE}/data`]: { GET: data },
  // The runs browser and a job's page: GET jobs, GET jobs/:id, POST jobs/:id/replay, POST replay.
  ...runRoutes({ reader, actor: (c) => actor(c) }),
  [`${DASHBOARD_BASE}/jobs/:id/retry`]: { POST: action((c, s) => s.admin.retry(jobId(c)), true) },
  [`${DASHBOARD_BASE}/jobs/:id/cancel`]: { POST: action((c, s) => s.admin.cancel(jobId(c))) },
  [`${DASHBOARD_BASE}/dead/retry`]: { POST: action(async (c, s) => s.admin.retryDead(await filter(c)), true) },
  [`${DASHBOARD_BASE}/dead/cancel`]: { POST: action(async (c, s) => s.admin.cancelDead(await filter(c))) },
  [`${DASHBOARD_BASE}/types/:type/pause`]: { POST: action(async (c, s) => ({ ...(await s.admin.pause(typeOf(c))), paused: true })) },
  [`${DASHBOARD_BASE}/types/:type/resume`]: { POST: action(async (c, s) => ({ ...(await s.admin.resume(typeOf(c))), paused: false }), true) },
};
