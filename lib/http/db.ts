import { attachDatabasePool } from '@vercel/functions';
import { config, connect, type Connection, type Db } from '../queue/index.js';
import { HttpError } from './errors.js';

/**
 * One pool per function instance, made on first use and kept at module scope, so concurrent and
 * later invocations of a warm instance share connections. attachDatabasePool lets Vercel keep the
 * instance alive until idle clients have closed before it suspends.
 */
let connection: Connection | undefined;

export function db(): Db {
  if (!connection) {
    const url = config().DATABASE_URL;
    if (!url) throw new HttpError(500, 'server misconfigured: DATABASE_URL is not set');
    connection = connect(url);
    attachDatabasePool(connection.pool as Parameters<typeof attachDatabasePool>[0]);
  }
  return connection.db;
}

/** Closes the pool (npm run dev on Ctrl-C, tests); the next db() opens a new one. */
export async function closeDb(): Promise<void> {
  const open = connection;
  connection = undefined;
  await open?.close();
}
