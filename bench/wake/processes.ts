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
  const app = await forkApp(APP, { url, settings });
  return { url: app.url, stats: () => app.ask<AppStats>({ type: 'stats' }), stop: app.stop };
}

/** A bench app in a process of its own (forkApp): where it answers, and its requests over IPC. */
export interface ForkedApp {
  url: string;
  /** Sends `message` and resolves with the app's next answer of the same type; an answer of type 'error' rejects. */
  ask<T>(message: { type: string }): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Forks `entry` under the same loader (tsx) as this process, with `args` as JSON in argv[2] and `env`
 * added to this process's environment. The app answers { type: 'ready', url } once it serves, then one
 * message per request, of the request's type (or 'error' with a `message`).
 */
export async function forkApp(entry: string, args: unknown, env: Record<string, string> = {}): Promise<ForkedApp> {
  const child = fork(entry, [JSON.stringify(args)], {
    execArgv: process.execArgv.filter((a) => a !== '--eval'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the run dies before stop(), the app must not outlive it.
  const guard = () => child.kill('SIGKILL');
  process.once('exit', guard);
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within 60 s`)), 60_000);
    child.on('message', (m: { type: string; url?: string }) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m.url!); }
    });
    void exited.then(() => reject(new Error(`${entry} exited (${child.exitCode}) before it was ready`)));
  });
  return {
    url: base,
    ask: <T>(message: { type: string }) => new Promise<T>((resolve, reject) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type !== message.type && m.type !== 'error') return;
        child.off('message', on);
        if (m.type === 'error') reject(new Error(`${entry}: ${m.message}`));
        else resolve(m as T);
      };
      child.on('message', on);
      void exited.then(() => reject(new Error(`${entry} exited (${child.exitCode}) during ${message.type}`)));
      child.send(message);
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
