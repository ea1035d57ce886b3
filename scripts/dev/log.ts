import type { FetchApp } from '../../lib/adapters/web.js';
import { DEV_CRON_AGENT } from '../../lib/cli/cron.js';

/** `app` with one log line per request (method, path, status, time), quiet for the local cron's calls. */
export function logged(app: FetchApp, log = (line: string) => console.log(`[dev] ${line}`)): FetchApp {
  return {
    fetch: async (request, env) => {
      const started = Date.now();
      const response = await app.fetch(request, env);
      const { pathname } = new URL(request.url);
      if (request.headers.get('user-agent') !== DEV_CRON_AGENT) log(`${request.method} ${pathname} ${response.status} ${Date.now() - started}ms`);
      return response;
    },
  };
}
