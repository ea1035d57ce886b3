import { Hono, type Context } from 'hono';
import type { Sluice } from '../sluice.js';
import { errorResponse } from './errors.js';

/** What a runtime adapter hands the app with each request. */
export interface SluiceBindings {
  /** When this invocation must end (epoch ms), where the platform says so. Default: getDeadline() (Vercel). */
  deadline?: () => number | undefined;
  /** Keeps the invocation alive for work after the response (Next.js: after()). Default: Vercel's waitUntil. */
  waitUntil?: (work: Promise<unknown>) => void;
  /** false where the instance freezes once it has answered (Lambda): kicks then start a drain elsewhere. Default true. */
  runsAfterResponse?: boolean;
  /** Where this server answers, as the server itself knows it (serve()): hand-overs go there. */
  baseUrl?: string;
  /** The client's address as the platform knows it (a socket's, Lambda's sourceIp): the throttle of
   *  wrong secrets counts by it. Default: X-Real-IP, else X-Forwarded-For's first hop (lib/http/throttle.ts). */
  clientAddress?: string;
}
export type SluiceEnv = { Bindings: SluiceBindings };

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
export type RouteHandler = (c: Context<SluiceEnv>, sluice: Sluice) => Response | Promise<Response>;
/** Paths (Hono syntax, e.g. /api/jobs/:id) to one handler per method. */
export type RouteTable = Record<string, Partial<Record<Method, RouteHandler>>>;

/**
 * The Web-standard HTTP app (Request in, Response out) of an instance: every path of `routes`, other
 * methods answered 405 with an Allow header (HEAD wherever GET is, as Hono answers HEAD with GET's
 * headers and no body), unknown paths 404, errors by errorResponse. Nothing is cached unless its route says so (only the
 * dashboard's static assets do): answers carry job payloads and queue state.
 */
export function createHttpApp(sluice: Sluice, routes: RouteTable): Hono<SluiceEnv> {
  const app = new Hono<SluiceEnv>();
  app.use('*', async (c, next) => {
    await next();
    if (c.res.headers.has('Cache-Control')) return; // a route that chose (the dashboard's assets)
    try {
      c.res.headers.set('Cache-Control', 'no-store');
    } catch {
      // An app route may answer with a Response whose headers are immutable (one from fetch()).
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set('Cache-Control', 'no-store');
    }
  });
  // Hono runs the first match in registration order: every method handler first (the table lists the
  // app's own paths before Sluice's parameter paths), then the 405s, so no 405 or /api/jobs/:id
  // shadows a more specific path registered after it.
  const table = Object.entries(routes);
  for (const [path, handlers] of table) {
    for (const method of Object.keys(handlers) as Method[]) app.on(method, path, (c) => handlers[method]!(c, sluice));
  }
  for (const [path, handlers] of table) {
    const methods = Object.keys(handlers);
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
    app.all(path, (c) => c.json({ error: `method ${c.req.method} not allowed; use ${allow}` }, 405, { Allow: allow }));
  }
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((error) => errorResponse(error));
  return app;
}
