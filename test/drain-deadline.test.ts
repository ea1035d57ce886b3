// drain() returns by its deadline while its claim waits on the database: found by fault injection
// (a stop timer firing a millisecond before Date.now() reached stopAt left the pass waiting on the claim).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { latch } from './support/sql.js';

const job = defineJob({ type: 'deadline-noop', payload: z.object({}), handler: async () => {} });
/** 600 to 1,199 ms, every last digit: the reserve (a tenth) puts stop times on fractions of a millisecond. */
const BUDGETS = Array.from({ length: 40 }, (_, i) => 600 + ((i * 37) % 600));
/** Drains at once: enough to finish in a few seconds, few enough to leave connections to parallel files. */
const GROUP = 20;

describe.each(DRIVERS)('drain deadline under a table lock (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });

  /**
   * Drains of the empty queue, each on its own pool (no drain waits for another's connection), while
   * another session holds the jobs table, so every claim waits. The lock goes when all have returned,
   * or when a watchdog 1.5 s past the last deadline gives up on them; each drain says which came first.
   */
  async function drainsUnderLock(budgets: number[]) {
    const locked = latch();
    const unblock = latch();
    let held = false;
    const holder = conn.db.transaction(async (tx) => {
      await tx.execute(sql`lock table sluice.jobs in access exclusive mode`);
      held = true;
      locked.open();
      await unblock.promise;
    });
    await Promise.race([locked.promise, holder]); // a failed lock fails the test instead of hanging it
    const pools = budgets.map(() => freshDatabase.reconnect(conn.url, driver, 2));
    try {
      const drains = budgets.map(async (budgetMs, i) => {
        const summary = await drain(pools[i]!.db, [job], { budgetMs });
        return { budgetMs, returnedWhileLocked: held, summary };
      });
      let watchdog: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(drains),
        new Promise((resolve) => { watchdog = setTimeout(resolve, Math.max(...budgets) + 1_500); }),
      ]);
      clearTimeout(watchdog);
      held = false;
      unblock.open();
      await holder;
      return await Promise.all(drains);
    } finally {
      unblock.open();
      await Promise.all(pools.map((p) => p.close()));
    }
  }

  it(`returns by the deadline while its claim waits on a lock: ${BUDGETS.length} drains, budgets 600 to 1,199 ms`, async () => {
    const results = [];
    for (let i = 0; i < BUDGETS.length; i += GROUP) results.push(...(await drainsUnderLock(BUDGETS.slice(i, i + GROUP))));
    const late = results.filter((r) => !r.returnedWhileLocked).map((r) => r.budgetMs);
    expect(late, 'budgets of the drains that returned only when the lock was lifted').toEqual([]);
    expect(results.map((r) => r.summary)).toEqual(BUDGETS.map(() => expect.objectContaining({ claimed: 0, stoppedBy: 'deadline' })));
  });
});
