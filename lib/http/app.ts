import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { RuntimeBindings } from '../wake/runtime.js';
import { errorResponse } from './errors.js';
import type { RouteHost } from './host.js';

/** What a runtime adapter hands the app with each request. */
export interface SluiceBindings extends RuntimeBindings {
  /** When this invocation must end (epoch ms), where the platform says so. Default: getDeadline() (Vercel). */
  deadline?: () => number | undefined;
  /** The client's address as the platform knows it (a socket's, Lambda's sourceIp): the throttle of
   *  wrong secrets counts by it. Default: X-Real-IP, else X-Forwarded-For's first hop (lib/http/throttle.ts). */
  clientAddress?: string;
}
/** A request's environment: the adapter's bindings, and the instance serving it as `c.var.sluice`. */
export type SluiceEnv = { Bindings: SluiceBindings; Variables: { sluice: RouteHost } };

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
/** A route of the HTTP app: what it needs of the instance is `c.var.sluice`. */
export type HttpHandler = (c: Context<SluiceEnv>) => Response | Promise<Response>;
/** Paths (Hono syntax, e.g. /api/jobs/:id) to one handler per method. */
export type HttpRoutes = Record<string, Partial<Record<Method, HttpHandler>>>;

/**
 * The Web-standard HTTP app (Request in, Response out) of an instance: every path of `routes`, other
 * methods answered 405 with an Allow header (HEAD wherever GET is, as Hono answers HEAD with GET's
 * headers and no body), unknown paths 404, errors by errorResponse. Nothing is cached unless its route says so (only the
 * dashboard's static assets do): answers carry job payloads and queue state. `middleware` runs first on
 * every request: the instance's sets `c.var.sluice` (lib/sluice.ts).
 */
export function createHttpApp(routes: HttpRoutes, ...middleware: MiddlewareHandler<SluiceEnv>[]): Hono<SluiceEnv> {
  const app = new Hono<SluiceEnv>();
  for (const handler of middleware) app.use('*', handler);
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
    for (const method of Object.keys(handlers) as Method[]) app.on(method, path, handlers[method]!);
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
