import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../lib/queue/index.js';
import { freePort } from '../../scripts/local-postgres.js';
import type { AppStats } from './app.js';
import { sleep } from './clock.js';

const APP = fileURLToPath(new URL('./app.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WakeApp {
  url: string;
  /** The app's counters so far (app.ts). */
  stats(): Promise<AppStats>;
  stop(): Promise<void>;
}

/** The bench-only app (app.ts) in a child under the same loader (tsx) as this process. */
export async function startWakeApp(url: string, settings: Partial<Config>): Promise<WakeApp> {
  const child = fork(APP, [JSON.stringify({ url, settings })], {
    execArgv: process.execArgv.filter((a) => a !== '--eval'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the run dies before stop(), the app must not outlive it.
  const guard = () => child.kill('SIGKILL');
  process.once('exit', guard);
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench app did not start within 60 s')), 60_000);
    child.on('message', (m: { type: string; url?: string }) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m.url!); }
    });
    void exited.then(() => reject(new Error(`the bench app exited (${child.exitCode}) before it was ready`)));
  });
  return {
    url: base,
    stats: () => new Promise((resolve) => {
      const on = (m: AppStats & { type: string }) => {
        if (m.type !== 'stats') return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send({ type: 'stats' });
    }),
    async stop() {
      process.off('exit', guard);
      // Drains still in flight are abandoned: the scenario is over and resets the table next.
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface DevServer {
  base: string;
  stop(): Promise<void>;
}

/**
 * `npm run dev` as a user starts it, on a free port, against `env.DATABASE_URL` (no embedded Postgres),
 * with its data dir (dev.env) in a temp dir so the repository's .data/ is never touched. It runs in a
 * process group of its own: stopping it signals npm and the server behind it together.
 */
export async function startDevServer(env: Record<string, string>): Promise<DevServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-dev-'));
  const port = await freePort();
  const child = spawn('npm', ['run', 'dev'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', SLUICE_DEV_DATA_DIR: dataDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => void (tail = (tail + chunk.toString()).slice(-4_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const group = (signal: NodeJS.Signals) => { try { process.kill(-child.pid!, signal); } catch { /* gone already */ } };
  const alive = () => { try { process.kill(-child.pid!, 0); return true; } catch { return false; } };
  const guard = () => group('SIGKILL');
  process.once('exit', guard);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', guard);
    group('SIGTERM');
    const killed = setTimeout(() => group('SIGKILL'), 10_000);
    await exited;
    // npm may exit before the server behind it has closed its pool: wait for the whole group.
    for (let i = 0; i < 100 && alive(); i++) await sleep(100);
    clearTimeout(killed);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const started = performance.now(); ; await sleep(100)) {
    if (child.exitCode !== null) { await stop(); throw new Error(`npm run dev exited (${child.exitCode}):\n${tail}`); }
    const ok = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (performance.now() - started > 90_000) { await stop(); throw new Error(`npm run dev did not answer within 90 s:\n${tail}`); }
  }
  return { base, stop };
}
