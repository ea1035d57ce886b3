// What a drain does when handlers misbehave or time runs short: found by review, kept by these tests.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, enqueueMany, RetryLaterError } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { countJobs, jobRow, select } from './support/sql.js';

const n = z.object({ n: z.number() });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DRIVERS)('drain edge cases (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs`); });

  it('one unwritable outcome does not cost the others: NUL in an error, NaN and Infinity delays, BigInt and cyclic throws', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throws = [new Error('bad\0byte'), new RetryLaterError(NaN), new RetryLaterError(Infinity), 10n, cyclic];
    const job = defineJob({
      type: 'edge-mixed', payload: n,
      handler: async ({ n }) => { if (n < throws.length) throw throws[n]; },
    });
    const { ids } = await enqueueMany(conn.db, Array.from({ length: 10 }, (_, i) => ({ job, payload: { n: i } })));
    const summary = await drain(conn.db, [job], { budgetMs: 10_000 });
    expect(summary).toMatchObject({ claimed: 10, completed: 5, retried: 3, released: 2 });
    expect(await countJobs(conn.db)).toBe(5); // the five successes are gone: their deletes were written
    expect(await countJobs(conn.db, sql`status = 'running'`)).toBe(0);
    expect((await jobRow(conn.db, ids[0]!))!.last_error).toBe('attempt 1/5: Error: badbyte');
    expect((await jobRow(conn.db, ids[3]!))!.last_error).toBe('attempt 1/5: [object BigInt]');
    expect((await jobRow(conn.db, ids[4]!))!.last_error).toBe('attempt 1/5: [object Object]');
  });

  it('keeps a claimed job\'s lease alive while it waits behind a slow one (heartbeats), then starts it', async () => {
    const runs = new Map<number, number>();
    const job = defineJob({
      type: 'edge-lease', payload: n, timeoutMs: 2_000,
      handler: async ({ n }) => { runs.set(n, (runs.get(n) ?? 0) + 1); if (n === 0) await pause(1_300); },
    });
    await enqueueMany(conn.db, [0, 1].map((i) => ({ job, payload: { n: i } })));
    // One worker, 1 s of lease grace: job 1 waits ~1.3 s behind job 0, past its first lease; the
    // drain's heartbeats renew it, so it starts rather than going back.
    const summary = await drain(conn.db, [job], { budgetMs: 20_000, concurrency: 1, leaseGraceMs: 1_000 });
    expect(summary).toMatchObject({ completed: 2, released: 0, rescued: 0 });
    expect([...runs.entries()].sort()).toEqual([[0, 1], [1, 1]]);
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('keeps going when slow jobs wait behind fast ones: no stall until the deadline', async () => {
    const runs = new Map<number, number>();
    const job = defineJob({
      type: 'edge-mixed-speed', payload: n, timeoutMs: 2_000,
      handler: async ({ n }) => { runs.set(n, (runs.get(n) ?? 0) + 1); if (n >= 100) await pause(1_200); },
    });
    // Fast jobs first (higher priority) grow the claims; the slow ones then wait in the local queue
    // past their first lease, kept alive by heartbeats, and run one after another.
    await enqueueMany(conn.db, [
      ...Array.from({ length: 50 }, (_, i) => ({ job, payload: { n: i }, priority: 1 })),
      ...[100, 101, 102].map((i) => ({ job, payload: { n: i } })),
    ]);
    const summary = await drain(conn.db, [job], { budgetMs: 30_000, concurrency: 1, leaseGraceMs: 1_000 });
    expect(summary.stoppedBy).toBe('empty'); // a stalled pass would only end at its deadline
    expect(summary.completed).toBe(53);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('does not start a job that would run into the deadline; it goes back with its attempt', async () => {
    const job = defineJob({ type: 'edge-late', payload: n, timeoutMs: 10_000, handler: async () => { await pause(500); } });
    await enqueueMany(conn.db, Array.from({ length: 6 }, (_, i) => ({ job, payload: { n: i } })));
    const summary = await drain(conn.db, [job], { budgetMs: 1_500, concurrency: 1 });
    expect(summary.stoppedBy).toBe('deadline');
    expect(summary.completed).toBeGreaterThanOrEqual(1);
    expect(summary.retried).toBe(0); // no run was cut off by the deadline
    expect(summary.released).toBe(summary.claimed - summary.completed);
    const left = await select<{ attempts: number }>(conn.db, sql`select attempts from sluice.jobs`);
    expect(left.every((r) => r.attempts === 0)).toBe(true);
  });

  /**
   * Runs `body` while the jobs table's update statements fail with real Postgres errors: the k-th
   * update statement raises errors[k] (1-based). Returns how many update statements ran in all.
   * A sequence counts them, as it keeps counting when the failing statement rolls back.
   */
  async function withFailingUpdates(errors: Record<number, string>, body: () => Promise<void>): Promise<number> {
    const cases = Object.entries(errors).map(([k, code]) => `if n = ${Number(k)} then raise exception 'injected' using errcode = '${code}'; end if;`);
    await conn.db.execute(sql.raw(`
      create sequence inject_seq;
      create function inject() returns trigger language plpgsql as $$
      declare n bigint := nextval('inject_seq');
      begin ${cases.join(' ')} return null; end $$;
      create trigger inject before update on sluice.jobs for each statement execute function inject();`));
    try {
      await body();
      const [seq] = await select<{ n: number }>(conn.db, sql`select last_value::int as n from inject_seq`);
      return seq!.n;
    } finally {
      await conn.db.execute(sql.raw('drop trigger if exists inject on sluice.jobs; drop function if exists inject(); drop sequence if exists inject_seq'));
    }
  }

  it('rides out a serialization failure or deadlock: the statement is sent again, nothing is lost', async () => {
    const updates = await withFailingUpdates({ 1: '40001', 2: '40P01' }, async () => {
      const job = defineJob({ type: 'edge-transient', payload: n, handler: async () => {} });
      await enqueueMany(conn.db, Array.from({ length: 30 }, (_, i) => ({ job, payload: { n: i } })));
      expect(await drain(conn.db, [job], { budgetMs: 10_000 })).toMatchObject({ completed: 30, stoppedBy: 'empty' });
      expect(await countJobs(conn.db)).toBe(0);
    });
    expect(updates).toBeGreaterThan(2); // both errors were raised, and later statements went through
  });

  it('writes the last outcomes of a pass even when that write first meets a deadlock', async () => {
    // The claim is the first update statement; the pass's last write (maxJobs reached) the second.
    const updates = await withFailingUpdates({ 2: '40P01' }, async () => {
      const job = defineJob({ type: 'edge-last-write', payload: n, handler: async () => {} });
      await enqueueMany(conn.db, Array.from({ length: 3 }, (_, i) => ({ job, payload: { n: i } })));
      expect(await drain(conn.db, [job], { budgetMs: 10_000, maxJobs: 3 })).toMatchObject({ completed: 3, stoppedBy: 'maxJobs' });
      expect(await countJobs(conn.db)).toBe(0);
    });
    expect(updates).toBeGreaterThanOrEqual(3); // the failed write happened and was sent again
  });

  it('counts a handler that returns nothing (a plain function) as a success', async () => {
    let runs = 0;
    const job = defineJob({ type: 'edge-sync', payload: n, handler: (() => { runs++; }) as never });
    await enqueue(conn.db, job, { n: 1 });
    expect(await drain(conn.db, [job], { budgetMs: 5_000 })).toMatchObject({ completed: 1, retried: 0 });
    expect(runs).toBe(1);
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('returns by its deadline even when handlers hold every pooled connection', async () => {
    const small = freshDatabase.reconnect(conn.url, driver, 2);
    try {
      const job = defineJob({
        type: 'edge-pool', payload: n, timeoutMs: 10_000,
        handler: async (_, ctx) => { await ctx.db.execute(sql`select pg_sleep(2.5)`); }, // deaf to the signal
      });
      await enqueueMany(small.db, [0, 1, 2].map((i) => ({ job, payload: { n: i } })));
      const deadline = Date.now() + 1_000;
      await drain(small.db, [job], { deadline, concurrency: 2 });
      expect(Date.now()).toBeLessThan(deadline + 250);
    } finally {
      await small.close();
    }
  });
});
