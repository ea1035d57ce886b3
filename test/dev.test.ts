import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/local-postgres.js';
import { SECRETS } from './support/api.js';
import { freshDatabase } from './support/db.js';
import { waitFor } from './support/sql.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

/** `npm run dev` as a user starts it, in its own process group (as a terminal would, for Ctrl-C). */
function npmRunDev(env: Record<string, string>) {
  const { EMAIL_WEBHOOK_URL: _unset, ...inherited } = process.env; // the welcome email is logged, so the test sees it
  const child = spawn('npm', ['run', 'dev'], { cwd: root, env: { ...inherited, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // 'close': the process exited and every process holding its stdout/stderr (tsx, node) has let go.
  const exited = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`)));
  return { child, output: () => output, exited };
}
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
});

describe('npm run dev', () => {
  it('migrates, serves the API, kicks, drains with its local cron, refuses a second copy, and stops on Ctrl-C', async () => {
    const conn = await freshDatabase('pg', { migrated: false }); // dev applies the migrations itself
    await conn.close();
    const port = await freePort();
    const base = `http://localhost:${port}`;
    // Its own data folder, so a test run never overwrites the developer's .data/dev.env.
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-dev-data-'));
    const env = { ...SECRETS, DATABASE_URL: conn.url, PORT: String(port), SLUICE_DEV_CRON_MS: '200', SLUICE_DEV_DATA_DIR: dataDir };
    const dev = npmRunDev(env);
    await waitFor('npm run dev to start', async () => {
      if (dev.child.exitCode !== null) throw new Error(`npm run dev exited early:\n${dev.output()}`);
      return dev.output().includes('Sluice is running') ? true : undefined;
    }, 30_000);
    expect(dev.output()).toContain(`${base}/api`);
    expect(dev.output()).toContain('ENQUEUE_SECRET  (from your environment)');
    expect(dev.output()).not.toContain(SECRETS.ENQUEUE_SECRET);

    const signup = await fetch(`${base}/api/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'dev@example.com', name: 'Dev' }),
    });
    expect(signup.status).toBe(202);
    const gone = (id: string) => waitFor(`job ${id} to run`, async () => {
      const res = await fetch(`${base}/api/jobs/${id}`, { headers: { authorization: `Bearer ${SECRETS.ADMIN_SECRET}` } });
      return (await res.json()).status === 'completed' ? true : undefined; // kept, completed, as the run history
    });
    // The signup's kick runs its job: the email is logged.
    const welcomed = /^\{"time":"[^"]+","level":"info","msg":"welcome email[^"]*".*"to":"dev@example\.com"/m;
    await waitFor('the welcome email', async () => (welcomed.test(dev.output()) ? true : undefined));
    // A delayed job is no kick's: the local cron's tick runs it once it is due.
    const delayed = await fetch(`${base}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.ENQUEUE_SECRET}` },
      body: JSON.stringify({ type: 'send-welcome-email', payload: { userId: 'u-later', email: 'later@example.com', name: 'Later' }, delayMs: 300 }),
    });
    expect(delayed.status).toBe(202);
    await gone((await delayed.json()).id);
    // The tick's line is printed once its answer is sent, a moment after the job completed.
    await waitFor('the cron tick\'s line', async () => (/cron \/api\/cron\/drain 200 .*"completed":1/.test(dev.output()) ? true : undefined));

    const second = npmRunDev(env);
    expect(await second.exited).toBe('exit 1');
    expect(second.output()).toContain(`port ${port} is in use: is npm run dev already running?`);

    process.kill(-dev.child.pid!, 'SIGINT'); // what Ctrl-C in a terminal does
    // npm itself dies of the SIGINT it forwarded; the dev process under it shuts down cleanly.
    expect(['SIGINT', 'exit 0']).toContain(await dev.exited);
    expect(dev.output()).toContain('[dev] stopped');
    await expect(fetch(`${base}/api/health`)).rejects.toThrow();
    expect(readFileSync(join(dataDir, 'dev.env'), 'utf8')).toContain(`export BASE=${base}`);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('npm run dev with its embedded Postgres', () => {
  it('a second one is told that the first owns .data/', async () => {
    const { writeFileSync } = await import('node:fs');
    const { startDevPostgres } = await import('../scripts/dev/database.js');
    const dataRoot = mkdtempSync(`${tmpdir()}/sluice-dev-`);
    writeFileSync(`${dataRoot}/dev.pid`, String(process.ppid)); // a live process holds the lock
    await expect(startDevPostgres(dataRoot, await freePort())).rejects.toThrow(`npm run dev is already running (pid ${process.ppid})`);
    rmSync(dataRoot, { recursive: true, force: true });
  });
});
