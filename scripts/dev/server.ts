import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { addHelpers } from './helpers.js';
import { discoverRoutes, matchRoute, type Route } from './routes.js';

type Handler = (req: VercelRequest, res: VercelResponse) => unknown;

/** Vercel refuses request bodies over 4.5 MB before the function runs. */
const PLATFORM_BODY_LIMIT = 4.5 * 1024 * 1024;

export interface DevServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the functions under `apiDir` like Vercel does: routes by file name (routes.ts), Vercel's
 * req/res helpers (helpers.ts), a 404 for unknown paths, a 413 over the platform's body limit, and a
 * 500 (error logged) when a function throws.
 */
export async function startDevServer(opts: {
  apiDir: string;
  port: number;
  host?: string;
  log?: (line: string) => void;
}): Promise<DevServer> {
  const routes = discoverRoutes(opts.apiDir);
  const modules = new Map<string, Promise<Handler>>();
  const load = (route: Route) => {
    let handler = modules.get(route.file);
    if (!handler) {
      handler = import(pathToFileURL(route.file).href).then((m) => {
        let fn = m;
        for (let i = 0; i < 5 && fn.default; i++) fn = fn.default; // like Vercel: default, or default.default (CJS interop)
        if (typeof fn !== 'function') throw new Error(`${route.file} has no default export function`);
        return fn as Handler;
      });
      modules.set(route.file, handler);
    }
    return handler;
  };

  const serve = async (raw: IncomingMessage, res: ServerResponse) => {
    const match = matchRoute(routes, new URL(raw.url ?? '/', 'http://localhost').pathname);
    if (!match) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('The page could not be found\n\nNOT_FOUND\n');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of raw) {
      size += (chunk as Buffer).length;
      if (size > PLATFORM_BODY_LIMIT) {
        return void res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('Request Entity Too Large\n\nFUNCTION_PAYLOAD_TOO_LARGE\n');
      }
      chunks.push(chunk as Buffer);
    }
    const { req, res: vres } = addHelpers(raw, res, Buffer.concat(chunks), match.params);
    try {
      await (await load(match.route))(req, vres);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      const clientError = status !== undefined && status >= 400 && status < 500; // e.g. req.body of bad JSON
      if (!clientError) console.error(`[dev] ${raw.method} ${raw.url} threw:`, error);
      if (!res.headersSent) {
        const [code, text] = clientError ? [status, (error as Error).message] : [500, 'A server error has occurred\n\nFUNCTION_INVOCATION_FAILED'];
        res.writeHead(code, { 'content-type': 'text/plain' }).end(`${text}\n`);
      } else res.end();
    }
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => opts.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    serve(req, res).catch((error) => {
      console.error('[dev] request failed:', error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // No host: every interface, IPv4 and IPv6, so http://localhost works whichever way it resolves.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? 'localhost'}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
