import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrateApp } from '../../lib/app/migrate.js';
import { connect, type Connection, type Driver } from '../../lib/queue/index.js';

export const DRIVERS: Driver[] = ['pg', 'neon'];

/** URL of the run's Postgres with the database name replaced. */
export function databaseUrl(database?: string): string {
  const url = new URL(inject('databaseUrl'));
  if (database) url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A new, migrated database of its own for a test file, so files can run in parallel and drains in one
 * file never see another file's jobs: Sluice's migrations and the example app's (migrateApp), unless
 * `migrated: false`. Returns a connection on the chosen driver.
 */
export async function freshDatabase(
  driver: Driver = 'pg',
  opts: { migrated?: boolean } = {},
): Promise<Connection & { url: string; name: string }> {
  const name = `sluice_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = databaseUrl(name);
  const connection = reconnect(url, driver);
  if (opts.migrated !== false) await migrateApp(connection.db);
  return { ...connection, url, name };
}

/** Another pool on a database made by freshDatabase (a second "function instance"). */
function reconnect(url: string, driver: Driver, max?: number): Connection {
  return connect(url, { driver, wsProxy: inject('wsProxy'), max });
}
freshDatabase.reconnect = reconnect;
