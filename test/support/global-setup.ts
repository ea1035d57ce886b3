import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalPostgres } from '../../scripts/local-postgres.js';
import { startWsRelay } from '../../scripts/ws-relay.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
  }
}

/**
 * Starts one Postgres for the whole run (unless DATABASE_URL points at one) and a WebSocket relay in
 * front of it for the neon driver. Test files each create their own database on it (test/support/db.ts).
 */
export default async function setup(project: TestProject) {
  let stopPostgres = async () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
    // A throwaway server: durability buys nothing here. (bench/ keeps it on.)
    const pg = await startLocalPostgres({
      dataDir: join(dir, 'data'),
      persistent: false,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    url = pg.url;
    stopPostgres = async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const relay = await startWsRelay();
  project.provide('databaseUrl', url);
  project.provide('wsProxy', relay.proxy);
  return async () => {
    await relay.close();
    await stopPostgres();
  };
}
