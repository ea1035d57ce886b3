import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startLocalPostgres } from '../scripts/local-postgres.js';

/**
 * The servers of one bench run, each started fresh and thrown away at the end, so a run never
 * depends on (or disturbs) whatever else the machine is running.
 */

/** Durability on: the server defaults, stated so the results say what was measured. */
export const POSTGRES_SETTINGS = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', max_connections: '200' };

export interface BenchPostgres {
  /** URL of the `postgres` database; `databaseUrl(name)` for another. */
  url: string;
  host: string;
  port: number;
  version: string;
  databaseUrl(name: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<BenchPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  chmodSync(dir, 0o755); // Postgres runs as the `postgres` user when we are root
  const server = await startLocalPostgres({ dataDir: join(dir, 'data'), persistent: false, settings: POSTGRES_SETTINGS });
  const databaseUrl = (name: string) => {
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const version = (await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
  return {
    url: server.url,
    host: '127.0.0.1',
    port: server.port,
    version,
    databaseUrl,
    async createDatabase(name) {
      await admin.query(`create database ${name}`);
      return databaseUrl(name);
    },
    async stop() {
      await admin.end();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchRedis {
  host: string;
  port: number;
  version: string;
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Debian's redis-server on a free port, or the reason it cannot run. AOF with fsync every second is
 * the durable setting Redis documents for production; it is weaker than Postgres's synchronous_commit
 * (up to a second of acknowledged writes can be lost), which favours BullMQ, and the results say so.
 */
export async function startRedis(): Promise<BenchRedis | { skipped: string }> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) {
    return { skipped: 'redis-server is not installed (Debian: apt-get install -y redis-server)' };
  }
  const version = /v=([\d.]+)/.exec(which.stdout)?.[1] ?? 'unknown';
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-redis-'));
  const port = await freePort();
  const settings = { appendonly: 'yes', appendfsync: 'everysec', save: '', 'maxmemory-policy': 'noeviction' };
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no'];
  for (const [k, v] of Object.entries(settings)) args.push(`--${k}`, v);
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the run dies without reaching stop() (an exception, Ctrl-C), Redis must not outlive it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (i > 100 || child.exitCode !== null) {
      child.kill();
      return { skipped: `redis-server did not start on port ${port}` };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    version,
    settings,
    async stop() {
      process.off('exit', orphanGuard);
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Rough machine description for the results: CPU model, cores, memory, OS, Node. */
export async function machine() {
  const os = await import('node:os');
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function ensureDir(path: string) {
  mkdirSync(path, { recursive: true });
}
