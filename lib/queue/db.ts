import { Client as NeonClient, Pool as NeonPool } from '@neondatabase/serverless';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import ws from 'ws';

/** A drizzle database or transaction on either driver: everything in lib/queue accepts one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, any>;
export type Driver = 'pg' | 'neon';

export interface ConnectOptions {
  driver?: Driver;
  /** Pool size. Default 20: above the drain's default concurrency (10), so handlers querying ctx.db
   *  cannot take every connection from the drain's own statements. */
  max?: number;
  /** neon driver only: host:port/path of a WebSocket relay (tests, local dev). */
  wsProxy?: string;
}

export interface Connection {
  db: Db;
  driver: Driver;
  /** The driver's pool, for @vercel/functions attachDatabasePool. */
  pool: pg.Pool | NeonPool;
  close(): Promise<void>;
}

/** neon for hosts under neon.tech, pg otherwise; `override` (DATABASE_DRIVER, passed by the caller) wins. */
export function pickDriver(url: string, override?: Driver): Driver {
  if (override) return override;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    // Node's TypeError carries the whole input, password included: never let it reach a log.
    throw new Error('DATABASE_URL is not a valid URL (postgres://user:password@host/database)');
  }
  return host === 'neon.tech' || host.endsWith('.neon.tech') ? 'neon' : 'pg';
}

/**
 * A pool on `url`. Reads no environment: an instance passes its own settings (DATABASE_URL,
 * DATABASE_DRIVER, NEON_WS_PROXY), so two in one process can differ.
 */
export function connect(url: string | undefined, opts: ConnectOptions = {}): Connection {
  if (!url) throw new Error('DATABASE_URL is not set: pass a connection string to connect()');
  const driver = opts.driver ?? pickDriver(url);
  const max = opts.max ?? 20;
  if (driver === 'pg') {
    const pool = new pg.Pool({ connectionString: url, max });
    // A client's error (server restart, a terminated backend, a network drop) must not crash the
    // process: the pool drops an idle client and the next query reconnects; a checked-out one (a
    // handler's open transaction) also emits 'error' between queries, and its next query fails instead.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return { db: drizzlePg(pool), driver, pool, close: () => pool.end() };
  }
  const pool = new NeonPool({ connectionString: url, max });
  // The pool's own constructor sets the Client it makes (a `Client` option is overwritten): set after it.
  pool.Client = neonClientClass(opts.wsProxy);
  pool.on('error', () => {});
  pool.on('connect', (client: { on(event: 'error', listener: () => void): unknown }) => client.on('error', () => {}));
  return { db: drizzleNeon(pool), driver, pool, close: () => pool.end() };
}

/**
 * The neon driver's options, per pool: its module-wide `neonConfig` would make one instance's relay
 * every instance's. Each client of the pool sets them on itself (client.neonConfig), before connecting.
 */
function neonClientClass(wsProxy: string | undefined): typeof NeonClient {
  return class extends NeonClient {
    constructor(config?: ConstructorParameters<typeof NeonClient>[0]) {
      super(config);
      // Node 20 has no global WebSocket.
      this.neonConfig.webSocketConstructor = ws;
      if (wsProxy) {
        // A local relay speaks plain ws and plain Postgres protocol behind it.
        this.neonConfig.wsProxy = wsProxy;
        this.neonConfig.useSecureWebSocket = false;
        this.neonConfig.pipelineTLS = false;
        this.neonConfig.pipelineConnect = false;
      }
    }
  };
}
