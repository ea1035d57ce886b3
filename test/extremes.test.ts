// Extreme values through every duration the queue computes: a job due for years, one due in year 9999,
// attempts at the integer limit, a clock that jumps. None may stop the queue (a job due 25 days ago once
// made every claim fail: its lag overflowed a 32-bit integer).
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { backoffDelayMs, defineJob, defineSchedule, drain, dueSlots, enqueue, enqueueMany, queueStats, RetryLaterError, type LivePass } from '../lib/queue/index.js';
import { HISTORY_BUCKETS_MS } from '../lib/queue/housekeeping/history.js';
import { freshDatabase } from './support/db.js';
import { countJobs, jobRow, select } from './support/sql.js';

const n = z.object({ n: z.number() });
const ran: number[] = [];
const ok = defineJob({ type: 'ok', payload: n, handler: async ({ n }) => { ran.push(n); } });
const failing = defineJob({ type: 'failing', payload: n, maxAttempts: 5, handler: async () => { throw new Error('no'); } });
const YEAR_MS = 365 * 86_400_000;

let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  ran.length = 0;
  await conn.db.execute(sql`truncate sluice.jobs, sluice.job_history, sluice.queue_samples`);
});

describe('extreme times and counts', () => {
  it('runs jobs due ten years ago and in year 1 beside a fresh one; their lag lands in the history\'s last bucket', async () => {
    await enqueue(conn.db, ok, { n: 1 }, { runAt: new Date(Date.now() - 10 * YEAR_MS) });
    await enqueue(conn.db, ok, { n: 2 }, { runAt: new Date('0001-01-01T00:00:00Z') });
    await enqueue(conn.db, ok, { n: 3 });
    const summary = await drain(conn.db, [ok], { budgetMs: 10_000 });
    expect(summary).toMatchObject({ claimed: 3, completed: 3, dead: 0 });
    expect(ran.toSorted()).toEqual([1, 2, 3]);
    const [history] = await select<{ lag_hist: number[] }>(conn.db, sql`select lag_hist from sluice.job_history where type = 'ok'`);
    expect(history!.lag_hist[HISTORY_BUCKETS_MS.length]).toBe(2);
  });

  it('reports a wait of years in stats and in the tick\'s sample without overflow', async () => {
    await enqueue(conn.db, ok, { n: 1 }, { runAt: new Date(Date.now() - 10 * YEAR_MS) });
    expect((await queueStats(conn.db, [ok])).oldestPendingAgeMs).toBeGreaterThan(9 * YEAR_MS);
    let totals: { oldest_due_ms: number } | null = null;
    await drain(conn.db, [ok], {
      budgetMs: 10_000,
      housekeeping: {
        params: { scope: { app: 'test', types: ['ok'] }, historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000, pruneBatch: 100,
                  alerts: { deadMax: 0, oldestPendingMs: 60_000, drainStaleMs: 60_000, repeatMs: 3_600_000 } },
        onReport: (report) => { totals = report.totals; },
      },
    });
    expect(totals!.oldest_due_ms).toBeGreaterThan(9 * YEAR_MS);
    const [sample] = await select<{ oldest_due_ms: number }>(conn.db, sql`select oldest_due_ms from sluice.queue_samples`);
    expect(sample!.oldest_due_ms).toBeGreaterThan(9 * YEAR_MS);
  });

  it('leaves a job due in year 9999 pending, and sees when it is due from the empty claim', async () => {
    const runAt = new Date('9999-12-31T23:59:59Z');
    const { id } = await enqueue(conn.db, ok, { n: 1 }, { runAt });
    let pass: LivePass | undefined;
    const summary = await drain(conn.db, [ok], { budgetMs: 5_000, observe: (p) => { pass = p; } });
    expect(summary).toMatchObject({ claimed: 0, stoppedBy: 'empty' });
    expect(Math.abs(pass!.nextDueAt()! - runAt.getTime())).toBeLessThan(60_000);
    expect((await jobRow(conn.db, id))!.status).toBe('pending');
  });

  it('claims a job whose attempts are at the integer limit: it runs, and a failure sends it dead', async () => {
    await conn.db.execute(sql`insert into sluice.jobs (type, payload, attempts, max_attempts) values
      ('ok', '{"n":1}', 2147483647, 2147483647), ('failing', '{"n":2}', 2147483647, 2147483647)`);
    const summary = await drain(conn.db, [ok, failing], { budgetMs: 10_000 });
    expect(summary).toMatchObject({ claimed: 2, completed: 1, dead: 1 });
    const [dead] = await select<{ attempts: number; status: string }>(conn.db, sql`select attempts, status from sluice.jobs`);
    expect(dead).toEqual({ attempts: 2147483647, status: 'dead' });
  });

  it('bounds backoff for any attempt count, and refuses a sleep past the calendar with a clear error', async () => {
    for (const attempts of [1, 60, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelayMs(attempts, { baseMs: 1_000, maxMs: 3_600_000 }, () => 1);
      expect(delay).toBeLessThanOrEqual(3_600_000);
      expect(Number.isFinite(delay)).toBe(true);
    }
    let thrown: unknown;
    const sleeper = defineJob({ type: 'sleeper', payload: n, handler: async (_, ctx) => {
      try { await ctx.sleep('forever', 1e300); } catch (error) { thrown = error; throw error; }
    } });
    await enqueue(conn.db, sleeper, { n: 1 });
    await drain(conn.db, [sleeper], { budgetMs: 5_000 });
    expect(thrown).toBeInstanceOf(TypeError);
    expect(String(thrown)).toMatch(/ctx\.sleep\("forever"\) .* at most/);
  });

  it('orders priorities at both ends of the integer range, and settles a retry asked for in 30,000 years at a year', async () => {
    const order: number[] = [];
    const later = defineJob({ type: 'later', payload: n, handler: async ({ n }) => {
      order.push(n);
      if (n === 3) throw new RetryLaterError(1e15);
    } });
    await enqueue(conn.db, later, { n: 1 }, { priority: -2147483647, runAt: new Date('0001-01-01T00:00:00Z') });
    await enqueue(conn.db, later, { n: 2 }, { priority: 2147483647 });
    const { id } = await enqueue(conn.db, later, { n: 3 });
    await drain(conn.db, [later], { budgetMs: 10_000, concurrency: 1, leaseGraceMs: 86_400_000 });
    expect(order).toEqual([2, 3, 1]);
    const retried = await jobRow(conn.db, id);
    expect(retried!.status).toBe('pending');
    expect(retried!.due_in_ms).toBeGreaterThan(364 * 86_400_000);
    expect(retried!.due_in_ms).toBeLessThanOrEqual(YEAR_MS);
  });

  it('catches up a schedule idle for ten years by its own bound', () => {
    const digest = defineSchedule({ name: 'digest', cron: '0 * * * *', job: ok, payload: { n: 0 }, catchUp: 'all', maxCatchUp: 100 });
    const now = Date.now();
    expect(dueSlots(digest, now - 10 * YEAR_MS, now).slots).toHaveLength(100);
    const latest = defineSchedule({ name: 'latest', cron: '0 * * * *', job: ok, payload: { n: 0 } });
    expect(dueSlots(latest, now - 10 * YEAR_MS, now).slots).toHaveLength(1);
  });
});

describe('a clock that jumps', () => {
  afterEach(() => { vi.useRealTimers(); });

  for (const jumpMs of [3_600_000, -3_600_000]) {
    it(`loses no job when the app's clock jumps ${jumpMs > 0 ? 'forward' : 'back'} an hour in the middle of a pass`, async () => {
      const started: number[] = [];
      let jumped = false;
      const slow = defineJob({ type: 'slow', payload: n, handler: async ({ n }) => {
        started.push(n);
        if (!jumped && started.length === 5) {
          jumped = true;
          vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + jumpMs });
        }
        await new Promise((r) => setImmediate(r));
      } });
      await enqueueMany(conn.db, Array.from({ length: 50 }, (_, i) => ({ job: slow, payload: { n: i } })));
      await drain(conn.db, [slow], { budgetMs: 10_000, concurrency: 2 });
      vi.useRealTimers();
      // Whatever the pass made of the jump, no job is left running (held by a lease no drain renews).
      expect(await countJobs(conn.db, sql`status = 'running'`)).toBe(0);
      await drain(conn.db, [slow], { budgetMs: 10_000 });
      expect(await countJobs(conn.db)).toBe(0);
      expect(new Set(started).size).toBe(50);
    });
  }
});

describe('one bad row never stops a queue', () => {
  // The next bug like the overflow, simulated: a trigger that fails the statement that claims (or
  // settles) one particular row, as a value out of range would.
  beforeAll(async () => {
    await conn.db.execute(sql`create function sluice.poison() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and new.status = 'running' and old.payload ? 'poisonClaim' then
          raise exception 'poisoned claim' using errcode = '22003';
        end if;
        if tg_op = 'DELETE' and old.payload ? 'poisonOutcome' then
          raise exception 'poisoned outcome' using errcode = '22008';
        end if;
        return case when tg_op = 'DELETE' then old else new end;
      end $$`);
    await conn.db.execute(sql`create trigger poison before update or delete on sluice.jobs for each row execute function sluice.poison()`);
  });
  afterAll(async () => { await conn.db.execute(sql`drop trigger poison on sluice.jobs`); });

  const poisoned = defineJob({ type: 'poisoned', payload: z.object({ n: z.number(), poisonClaim: z.boolean().optional(), poisonOutcome: z.boolean().optional() }),
    handler: async ({ n }) => { ran.push(n); } });

  it('sets aside a job whose claim fails on its data, and runs every other one', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ job: poisoned, payload: i === 17 ? { n: i, poisonClaim: true } : { n: i } }));
    const { ids } = await enqueueMany(conn.db, items);
    const summary = await drain(conn.db, [poisoned], { budgetMs: 20_000 });
    expect(summary).toMatchObject({ completed: 39 });
    expect(ran.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 17));
    const bad = await jobRow(conn.db, ids[17]!);
    expect(bad).toMatchObject({ status: 'dead', attempts: 0 });
    expect(bad!.last_error).toMatch(/^set aside: the claim failed on this job's row: .*poisoned claim/);
    expect(await countJobs(conn.db)).toBe(1);
  });

  it('sets aside a job whose outcome fails on its data; the other outcomes of its batch are written', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ job: poisoned, payload: i === 4 ? { n: i, poisonOutcome: true } : { n: i } }));
    const { ids } = await enqueueMany(conn.db, items);
    await drain(conn.db, [poisoned], { budgetMs: 20_000 });
    expect(ran).toHaveLength(30);
    const bad = await jobRow(conn.db, ids[4]!);
    expect(bad).toMatchObject({ status: 'dead' });
    expect(bad!.last_error).toMatch(/^set aside: writing its outcome \(done\) failed on this job's row: .*poisoned outcome/);
    expect(await countJobs(conn.db)).toBe(1);
    // And the queue goes on: a later drain finds nothing stuck.
    await enqueue(conn.db, poisoned, { n: 99 });
    expect(await drain(conn.db, [poisoned], { budgetMs: 5_000 })).toMatchObject({ completed: 1 });
  });
});
