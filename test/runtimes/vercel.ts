import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installVercelCli, VERCEL_OFFLINE_ENV, vercelDevArgs } from '../../scripts/vercel-cli.js';
import { childEnv, freePort, type Server, spawnServer } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `vercel dev --local` (the real Vercel CLI, pinned, installed outside the repo on first use) serving
 * `cwd`'s api/ offline on a free loopback port, with exactly `env` (plus PATH, HOME and the like).
 * vercel dev forks a fresh Node process per request and compiles the function's TypeScript in it, so
 * every request costs a second or more; the first ones after a cold start can take much longer.
 */
export async function startVercelDev(opts: { env: Record<string, string>; cwd?: string; readyTimeoutMs?: number }): Promise<Server> {
  const cwd = opts.cwd ?? REPO_ROOT;
  refuseDotenvOverrides(cwd, opts.env);
  const bin = installVercelCli();
  const globalConfig = mkdtempSync(join(tmpdir(), 'sluice-vercel-config-'));
  const [port, queuePort, cachePort, schedulesPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const url = `http://127.0.0.1:${port}`;
  // The local Queues/Runtime Cache/Schedules servers default to 4782-4784; free ones let runs coexist.
  const args = [
    bin, ...vercelDevArgs(`127.0.0.1:${port}`, globalConfig),
    '--queue-port', String(queuePort), '--runtime-cache-port', String(cachePort), '--schedules-port', String(schedulesPort),
  ];
  try {
    const server = await spawnServer({
      name: 'vercel dev',
      command: process.execPath,
      args,
      cwd,
      env: childEnv({ ...opts.env, ...VERCEL_OFFLINE_ENV }),
      url,
      readyOutput: /Ready! Available at/,
      failOn: {
        output: /Creating initial build/,
        explain:
          'vercel dev started a build of the project itself (@vercel/static-build for package.json), which it only does when ' +
          'package.json has a "build" script (or vercel.json a buildCommand/framework): Vercel then treats the repo as a ' +
          'frontend to build, here and on deploy. This project has no frontend; only api/ functions.',
      },
      readyPath: '/api/health',
      readyTimeoutMs: opts.readyTimeoutMs ?? 300_000,
    });
    return {
      ...server,
      close: async () => {
        await server.close();
        rmSync(globalConfig, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(globalConfig, { recursive: true, force: true });
    throw error;
  }
}

/**
 * vercel dev loads the project's .env on top of the environment it was started with (.env wins), so
 * a developer's .env would silently replace the suite's DATABASE_URL or secrets. Refuse instead.
 */
function refuseDotenvOverrides(cwd: string, env: Record<string, string>): void {
  const file = join(cwd, '.env');
  if (!existsSync(file)) return;
  const names = readFileSync(file, 'utf8').split('\n').map((l) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(l)?.[1]).filter(Boolean);
  const clashes = names.filter((n) => n! in env);
  if (clashes.length) {
    throw new Error(`${file} sets ${clashes.join(', ')}, which vercel dev would use instead of the test's values; move it aside to run this suite`);
  }
}
