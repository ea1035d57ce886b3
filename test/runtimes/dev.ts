import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, freePort, type Server, spawnServer } from './process.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `npm run dev` as a user starts it (its own process group, as a terminal would), with `env` and a
 * free PORT, on the DATABASE_URL given in `env` (it applies the migrations itself). Its local cron is
 * pushed a day out so it never drains behind the suite's back. Stopped like Ctrl-C (SIGINT).
 */
export async function startNpmRunDev(opts: { env: Record<string, string>; cwd?: string }): Promise<Server> {
  const port = await freePort();
  return spawnServer({
    name: 'npm run dev',
    command: 'npm',
    args: ['run', 'dev'],
    cwd: opts.cwd ?? REPO_ROOT,
    // Its own data folder: the suite must not overwrite the developer's .data/dev.env.
    env: childEnv({
      SLUICE_DEV_CRON_MS: String(86_400_000), SLUICE_DEV_DATA_DIR: mkdtempSync(join(tmpdir(), 'sluice-dev-data-')),
      ...opts.env, HOST: '127.0.0.1', PORT: String(port),
    }),
    url: `http://127.0.0.1:${port}`,
    readyPath: '/api/health',
    readyTimeoutMs: 60_000,
    stopSignal: 'SIGINT',
  });
}
