// The dashboard's run-history routes: the runs browser's list, a job's page, and replays. Each is one
// engine call (sluice.admin.list / get / replay / replayMany) behind the page's session, and its CSRF
// token for the POSTs; queries and bodies are parsed by ./schemas.ts, the engine's own filter schemas.
import type { Context } from 'hono';
import type { HttpHandler, HttpRoutes, SluiceEnv } from '../http/app.js';
import { jsonBody, parse, queryObject } from '../http/body.js';
import { kickFrom } from '../http/routes.js';
import { jobIdParam } from '../http/schemas.js';
import { DASHBOARD_BASE } from './contract.js';
import { replayBody, replayManyBody, runsQuery } from './schemas.js';
import type { Session } from './session.js';

export interface Guards {
  /** A read: a valid session, else 401. */
  reader(c: Context<SluiceEnv>): Promise<Session>;
  /** An action: same site, a session and its CSRF token, else 401/403. */
  actor(c: Context<SluiceEnv>): Promise<Session>;
}

const bodyLimit = (c: Context<SluiceEnv>) => c.var.sluice.settings().SLUICE_MAX_BODY_BYTES;
const jobId = (c: Context<SluiceEnv>) => parse(jobIdParam, { id: c.req.param('id') }).id;

/** The run-history routes (documented in ./contract.ts), mounted with the dashboard's others. */
export function runRoutes({ reader, actor }: Guards): HttpRoutes {
  const list: HttpHandler = async (c) => {
    await reader(c);
    return c.json(await c.var.sluice.admin.list(parse(runsQuery, queryObject(c.req.raw))));
  };
  const detail: HttpHandler = async (c) => {
    await reader(c);
    return c.json(await c.var.sluice.admin.get(jobId(c)));
  };
  const replay: HttpHandler = async (c) => {
    await actor(c);
    const id = jobId(c);
    const options = await jsonBody(c.req.raw, replayBody, { limit: bodyLimit(c), optional: true });
    const job = await c.var.sluice.admin.replay(id, options);
    kickFrom(c); // the new job is due now
    return c.json(job, 201);
  };
  const replayMany: HttpHandler = async (c) => {
    await actor(c);
    const { filter } = await jsonBody(c.req.raw, replayManyBody, { limit: bodyLimit(c) });
    const result = await c.var.sluice.admin.replayMany(filter);
    if (result.count > 0) kickFrom(c);
    return c.json(result);
  };
  return {
    [`${DASHBOARD_BASE}/jobs`]: { GET: list },
    [`${DASHBOARD_BASE}/jobs/:id`]: { GET: detail },
    [`${DASHBOARD_BASE}/jobs/:id/replay`]: { POST: replay },
    [`${DASHBOARD_BASE}/replay`]: { POST: replayMany },
  };
}
