import type { FetchApp } from '../../lib/adapters/web.js';

/** `app` with one log line per request (method, path, status, time), quiet for the local cron's calls. */
export function logged(app: FetchApp, log = (line: string) => console.log(`[dev] ${line}`)): FetchApp {
  return {
    fetch: async (request, env) => {
      const started = Date.now();
      const response = await app.fetch(request, env);
      const { pathname } = new URL(request.url);
      if (!pathname.startsWith('/api/cron/')) log(`${request.method} ${pathname} ${response.status} ${Date.now() - started}ms`);
      return response;
    },
  };
}
