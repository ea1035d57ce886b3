import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../lib/cli/env.js';
import { freshDatabase } from '../support/db.js';
import { waitFor } from '../support/sql.js';
import { freshNextApp, nextConfigFile, run } from './fresh-next-app.js';
import { childEnv, freePort, spawnServer, type Server } from './process.js';

// The first minutes of a new user: create-next-app's default app, `npm install sluice` (a tarball of
// this repository), `npx sluice init`, `sluice migrate`, `next build`, `next start`, a job.
describe('sluice init in a brand-new create-next-app app', () => {
  let dir: string;
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Server | undefined;
  let dev: Server | undefined;
  let secrets: Map<string, string>;
  const sluice = (args: string[], env: Record<string, string> = {}) => run(join(dir, 'node_modules', '.bin', 'sluice'), args, dir, env);
  const call = async (method: string, path: string, token: string, json?: unknown) => {
    const res = await fetch(server!.url + path, {
      method, body: json === undefined ? undefined : JSON.stringify(json),
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  // A process's output reaches this one through a pipe, possibly after the job's row is already gone:
  // wait for a line rather than read the output once.
  const printed = (process: Server, line: string | RegExp) =>
    waitFor(`${String(line)} in the output`, async () => ((typeof line === 'string' ? process.output().includes(line) : line.test(process.output())) ? true : undefined));
  // A job that ran is kept, completed, as the run history.
  const ran = (id: string) => waitFor(`job ${id} to run`, async () => ((await call('GET', `/api/jobs/${id}`, secrets.get('ADMIN_SECRET')!)).json?.status === 'completed' ? true : undefined), 60_000);

  beforeAll(async () => {
    conn = await freshDatabase('pg', { migrated: false });
    dir = freshNextApp();
  });
  afterAll(async () => {
    await dev?.close();
    await server?.close();
    await conn?.close();
    if (dir) rmSync(dir, { recursive: true, force: true }); // half a gigabyte of node_modules
  });

  it('init --yes, without a terminal, sets the app up; its template has cacheComponents on', () => {
    expect(readFileSync(join(dir, nextConfigFile(dir)), 'utf8')).toMatch(/cacheComponents:\s*true/);
    const out = sluice(['init', '--yes']);
    expect(out).toContain('(app/, cacheComponents on)');
    expect(out).toContain('Next steps:');
    expect(readFileSync(join(dir, 'app/api/[...sluice]/route.ts'), 'utf8')).not.toMatch(/runtime/);
    secrets = parseEnv(readFileSync(join(dir, '.env.local'), 'utf8'));
  });

  it('sluice migrate, npm install, next build', () => {
    expect(sluice(['migrate'], { DATABASE_URL: conn.url })).toContain('migrations applied');
    run('npm', ['install', '--no-audit', '--no-fund'], dir); // the dependencies init added (zod)
    expect(run(process.execPath, [join(dir, 'node_modules/next/dist/bin/next'), 'build'], dir)).toMatch(/Cache Components enabled[\s\S]*\/api\/\[\.\.\.sluice\]/);
  });

  it('next start: a job enqueued over HTTP runs through the kick', async () => {
    const port = await freePort();
    server = await spawnServer({
      name: 'next start', command: process.execPath, args: [join(dir, 'node_modules/next/dist/bin/next'), 'start', '--hostname', '127.0.0.1'],
      cwd: dir, env: childEnv({ PORT: String(port), DATABASE_URL: conn.url, NEXT_TELEMETRY_DISABLED: '1' }),
      url: `http://127.0.0.1:${port}`, readyPath: '/api/health', readyTimeoutMs: 60_000,
    });
    const job = await call('POST', '/api/jobs', secrets.get('ENQUEUE_SECRET')!, { type: 'hello-world', payload: { name: 'Ada' } });
    expect(job.status).toBe(202);
    await ran(job.json.id);
    await printed(server, 'Hello, Ada!');
  });

  it('a delayed job runs under sluice dev', async () => {
    const job = await call('POST', '/api/jobs', secrets.get('ENQUEUE_SECRET')!, { type: 'hello-world', payload: { name: 'Later' }, delayMs: 2_000 });
    expect(job.status).toBe(202);
    dev = await spawnServer({
      name: 'sluice dev', command: join(dir, 'node_modules', '.bin', 'sluice'), args: ['dev', '--url', server!.url, '--every', '1'],
      cwd: dir, env: childEnv({}), url: server!.url, readyPath: '/api/health', readyOutput: /every 1 s/,
    });
    await ran(job.json.id);
    await printed(server!, 'Hello, Later!');
    await printed(dev, /cron \/api\/cron\/drain 200 .*"claimed":1/); // the tick ran it, not the kick
  });
});
