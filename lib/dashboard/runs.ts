// The dashboard's run-history routes: the runs browser's list, a job's page, and replays. Each is one
// engine call (sluice.admin.list / get / replay / replayMany, the contract of the run-history work) behind
// the page's session, and its CSRF token for the POSTs; queries and bodies are parsed by ./schemas.ts.
import type { Context } from 'hono';
import type { HttpHandler, HttpRoutes, SluiceEnv } from '../http/app.js';
import { jsonBody, parse, queryObject } from '../http/body.js';
import { HttpError } from '../http/errors.js';
import type { RouteHost } from '../http/host.js';
import { kickFrom } from '../http/routes.js';
import { jobIdParam } from '../http/schemas.js';
import type { BulkResult, JobDetail, JobStatus, JobView } from '../queue/index.js';
import { DASHBOARD_BASE } from './contract.js';
import { replayBody, replayManyBody, runsQuery, type ReplayManyFilter } from './schemas.js';
import type { Session } from './session.js';

/** What the run-history engine calls take (the contract's RunFilter): `idempotencyKey` is the query's `key`. */
export interface RunFilter {
  status?: JobStatus;
  type?: string;
  from?: string;
  to?: string;
  idempotencyKey?: string;
  id?: string;
}

/**
 * The admin calls these routes make, as the run-history contract names them. Written against the
 * contract, not lib/http/host.ts's AdminCalls, so this half builds before (and after) the engine's half
 * lands; a call the engine does not have yet answers 501 rather than a TypeError's 500.
 */
interface RunHistoryAdmin {
  list(filter: RunFilter & { limit?: number; cursor?: string }): Promise<{ jobs: JobView[]; nextCursor: string | null }>;
  get(id: string): Promise<JobDetail>;
  replay(id: string, options: { fromStep?: string }): Promise<JobView>;
  replayMany(filter: RunFilter & { status: ReplayManyFilter['status'] }): Promise<BulkResult>;
}

function engine<K extends keyof RunHistoryAdmin>(sluice: RouteHost, call: K): RunHistoryAdmin[K] {
  const admin = sluice.admin as unknown as Partial<RunHistoryAdmin>;
  const fn = admin[call];
  if (typeof fn !== 'function') throw new HttpError(501, `this Sluice has no admin.${call} yet (run history)`);
  return fn.bind(admin) as RunHistoryAdmin[K];
}

/** The filter of a query or a bulk body, as the engine names its fields; unset fields left out. */
function runFilter({ key, ...f }: { key?: string; status?: JobStatus; type?: string; from?: string; to?: string; id?: string }): RunFilter {
  const filter: RunFilter = { ...f, idempotencyKey: key };
  for (const name of Object.keys(filter) as (keyof RunFilter)[]) if (filter[name] === undefined) delete filter[name];
  return filter;
}

export interface Guards {
  /** A read: a valid session, else 401. */
  reader(c: Context<SluiceEnv>): Promise<Session>;
  /** An action: same site, a session and its CSRF token, else 401/403. */
  actor(c: Context<SluiceEnv>): Promise<Session>;
}

const bodyLimit = (c: Context<SluiceEnv>) => ({ limit: c.var.sluice.settings().SLUICE_MAX_BODY_BYTES, optional: true });
const jobId = (c: Context<SluiceEnv>) => parse(jobIdParam, { id: c.req.param('id') }).id;

/** The run-history routes (documented in ./contract.ts), mounted with the dashboard's others. */
export function runRoutes({ reader, actor }: Guards): HttpRoutes {
  const list: HttpHandler = async (c) => {
    await reader(c);
    const { limit, cursor, ...filter } = parse(runsQuery, queryObject(c.req.raw));
    return c.json(await engine(c.var.sluice, 'list')({ ...runFilter(filter), limit, ...(cursor ? { cursor } : {}) }));
  };
  const detail: HttpHandler = async (c) => {
    await reader(c);
    return c.json(await engine(c.var.sluice, 'get')(jobId(c)));
  };
  const replay: HttpHandler = async (c) => {
    await actor(c);
    const id = jobId(c);
    const { fromStep } = await jsonBody(c.req.raw, replayBody, bodyLimit(c));
    const job = await engine(c.var.sluice, 'replay')(id, fromStep === undefined ? {} : { fromStep });
    kickFrom(c); // the new job is due now
    return c.json(job, 201);
  };
  const replayMany: HttpHandler = async (c) => {
    await actor(c);
    const { filter } = await jsonBody(c.req.raw, replayManyBody, { ...bodyLimit(c), optional: false });
    const result = await engine(c.var.sluice, 'replayMany')({ ...runFilter(filter), status: filter.status });
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
