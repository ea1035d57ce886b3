import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, enqueueMany, PermanentError, RetryLaterError } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { countJobs, jobRow, latch, select, waitFor } from './support/sql.js';

const n = z.object({ n: z.number() });
/** Makes a failed job due again at once, so a test can walk the retry schedule without waiting. */
const makeDue = sql`update sluice.jobs set run_after = now() where status = 'pending'`;

describe.each(DRIVERS)('drain (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs`); });

  it('runs each of 2,000 jobs exactly once across four concurrent drains', async () => {
    const runs = new Map<number, number>();
    const job = defineJob({ type: 'drain-once', payload: n, handler: async ({ n }) => { runs.set(n, (runs.get(n) ?? 0) + 1); } });
    await enqueueMany(conn.db, Array.from({ length: 2_000 }, (_, i) => ({ job, payload: { n: i } })));
    const pools = [conn, ...(await Promise.all([1, 2, 3].map(() => freshDatabase.reconnect(conn.url, driver))))];
    const summaries = await Promise.all(pools.map((p) => drain(p.db, [job], { budgetMs: 60_000, batchSize: 50 })));
    await Promise.all(pools.slice(1).map((p) => p.close()));
    expect(summaries.reduce((s, x) => s + x.claimed, 0)).toBe(2_000);
    expect(summaries.reduce((s, x) => s + x.completed, 0)).toBe(2_000);
    expect(summaries.filter((s) => s.claimed > 0).length).toBeGreaterThan(1);
    expect(runs.size).toBe(2_000);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(await countJobs(conn.db)).toBe(0);
    expect(summaries.every((s) => s.stoppedBy === 'empty')).toBe(true);
  });

  it('retries with capped exponential backoff, then goes dead after maxAttempts', async () => {
    const attempts: number[] = [];
    const job = defineJob({
      type: 'drain-flaky', payload: n, maxAttempts: 4, backoff: { baseMs: 1_000, maxMs: 3_000 },
      handler: async (_, ctx) => { attempts.push(ctx.job.attempt); throw new Error(`boom ${ctx.job.attempt}`); },
    });
    const { id } = await enqueue(conn.db, job, { n: 1 });
    // Delay after attempt k is in [c/2, c] with c = min(maxMs, baseMs * 2^(k-1)).
    const windows = [[500, 1_000], [1_000, 2_000], [1_500, 3_000]];
    for (const [k, [lo, hi]] of windows.entries()) {
      const summary = await drain(conn.db, [job], { budgetMs: 5_000 });
      expect(summary).toMatchObject({ claimed: 1, retried: 1, dead: 0 });
      const row = (await jobRow(conn.db, id))!;
      expect(row).toMatchObject({ status: 'pending', attempts: k + 1 });
      expect(row.last_error).toContain(`boom ${k + 1}`);
      expect(row.due_in_ms).toBeGreaterThan(lo! - 200);
      expect(row.due_in_ms).toBeLessThanOrEqual(hi!);
      expect((await drain(conn.db, [job], { budgetMs: 5_000 })).claimed).toBe(0); // not due yet
      await conn.db.execute(makeDue);
    }
    expect(await drain(conn.db, [job], { budgetMs: 5_000 })).toMatchObject({ claimed: 1, dead: 1 });
    expect(await jobRow(conn.db, id)).toMatchObject({ status: 'dead', attempts: 4, last_error: 'attempt 4/4: Error: boom 4' });
    expect(attempts).toEqual([1, 2, 3, 4]);
  });

  it('sends PermanentError and a payload failing its schema straight to dead; leaves a type it does not know pending', async () => {
    const strict = defineJob({
      type: 'drain-strict', payload: n,
      handler: async ({ n }) => { if (n === 1) throw new PermanentError('card declined'); },
    });
    const perm = await enqueue(conn.db, strict, { n: 1 });
    const badPayload = await enqueue(conn.db, strict, { n: 2 });
    await conn.db.execute(sql`update sluice.jobs set payload = '{"n":"two"}' where id = ${badPayload.id}`);
    const orphan = await enqueue(conn.db, defineJob({ type: 'drain-orphan', payload: n, handler: async () => {} }), { n: 3 });
    const summary = await drain(conn.db, [strict], { budgetMs: 5_000 });
    expect(summary).toMatchObject({ claimed: 2, dead: 2, completed: 0, retried: 0 });
    expect(await jobRow(conn.db, perm.id)).toMatchObject({ status: 'dead', attempts: 1, last_error: 'PermanentError: card declined' });
    expect((await jobRow(conn.db, badPayload.id))!.last_error).toMatch(/^payload failed validation/);
    // A rolling deploy's old drain meeting a new type: the job waits for a drain that knows it.
    expect(await jobRow(conn.db, orphan.id)).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
  });

  it('stores any error text exactly: quotes, braces, commas, backslashes, NULL-ish words, unicode', async () => {
    const nasty = 'a "quoted", {braced} \\ back\\slash NULL ✓ \'single\'';
    const job = defineJob({ type: 'drain-nasty', payload: n, maxAttempts: 1, handler: async () => { throw new PermanentError(nasty); } });
    const { id } = await enqueue(conn.db, job, { n: 1 });
    await drain(conn.db, [job], { budgetMs: 5_000 });
    expect((await jobRow(conn.db, id))!.last_error).toBe(`PermanentError: ${nasty}`);
  });

  it('snoozes on RetryLaterError without spending an attempt', async () => {
    const job = defineJob({ type: 'drain-snooze', payload: n, handler: async () => { throw new RetryLaterError(60_000); } });
    const { id } = await enqueue(conn.db, job, { n: 1 });
    expect(await drain(conn.db, [job], { budgetMs: 5_000 })).toMatchObject({ claimed: 1, released: 1 });
    const row = (await jobRow(conn.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row.due_in_ms).toBeGreaterThan(55_000);
  });

  it('aborts the signal at the job timeout and counts the run as failed', async () => {
    let aborted = false;
    const job = defineJob({
      type: 'drain-timeout', payload: n, timeoutMs: 200,
      handler: (_, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => {
        aborted = true;
        reject(ctx.signal.reason);
      })),
    });
    const { id } = await enqueue(conn.db, job, { n: 1 });
    expect(await drain(conn.db, [job], { budgetMs: 10_000 })).toMatchObject({ claimed: 1, retried: 1, stoppedBy: 'empty' });
    expect(aborted).toBe(true);
    const row = (await jobRow(conn.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toContain('timed out after 200 ms');
  });

  it('holds its deadline with slow jobs and releases claimed jobs it did not start, attempts unchanged', async () => {
    const job = defineJob({
      type: 'drain-slow', payload: n, timeoutMs: 60_000,
      // Odd jobs honour the abort; even ones ignore it and are abandoned.
      handler: ({ n }, ctx) => new Promise((_, reject) => {
        if (n % 2) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      }),
    });
    await enqueueMany(conn.db, Array.from({ length: 20 }, (_, i) => ({ job, payload: { n: i } })));
    const deadline = Date.now() + 1_500;
    const summary = await drain(conn.db, [job], { deadline, concurrency: 2 });
    const returnedAt = Date.now();
    // The pass returns by its deadline; 250 ms of slack covers the final write on a loaded machine.
    expect(returnedAt).toBeLessThan(deadline + 250);
    expect(summary.stoppedBy).toBe('deadline');
    expect(summary.retried).toBe(2);
    expect(summary.released).toBe(summary.claimed - 2);
    expect(summary.released).toBeGreaterThan(0);
    const rows = await select<{ attempts: number; n: number; last_error: string | null }>(conn.db,
      sql`select attempts, count(*)::int as n, max(last_error) as last_error from sluice.jobs where status = 'pending' group by attempts order by attempts`);
    expect(rows).toEqual([
      { attempts: 0, n: 18, last_error: null },
      { attempts: 1, n: 2, last_error: expect.stringContaining('deadline') },
    ]);
  });

  it('ignores a stale lease\'s outcome: a late success does not undo a newer run', async () => {
    const started = latch();
    const finish = latch();
    const slow = defineJob({
      type: 'drain-stale', payload: n, backoff: { baseMs: 1, maxMs: 1 },
      handler: async () => { started.open(); await finish.promise; },
    });
    const { id } = await enqueue(conn.db, slow, { n: 1 });
    const first = drain(conn.db, [slow], { budgetMs: 30_000 });
    await started.promise;
    const oldToken = (await jobRow(conn.db, id))!.lock_token;
    // The first run's lease runs out; another drain rescues the job and its run fails permanently.
    await conn.db.execute(sql`update sluice.jobs set locked_until = now() - interval '1 second' where id = ${id}`);
    const rival = defineJob({ type: 'drain-stale', payload: n, backoff: { baseMs: 1, maxMs: 1 }, handler: async () => { throw new PermanentError('second run says no'); } });
    const second = await drain(conn.db, [rival], { budgetMs: 5_000 });
    expect(second.rescued).toBe(1);
    await waitFor('the rescued job to run', async () => {
      await drain(conn.db, [rival], { budgetMs: 5_000 });
      const row = await jobRow(conn.db, id);
      return row?.status === 'dead' ? row : undefined;
    });
    finish.open();
    expect((await first).completed).toBe(1); // the first drain believes it succeeded...
    const row = (await jobRow(conn.db, id))!; // ...but its delete was conditional on its old token
    expect(row).toMatchObject({ status: 'dead', attempts: 2, last_error: 'PermanentError: second run says no' });
    expect(row.lock_token).toBeNull();
    expect(oldToken).not.toBeNull();
  });

  it('claims by priority, then by run_after, and stops after maxJobs', async () => {
    const order: number[] = [];
    const job = defineJob({ type: 'drain-priority', payload: n, handler: async ({ n }) => { order.push(n); } });
    await enqueue(conn.db, job, { n: 1 }, { priority: 0 });
    await enqueue(conn.db, job, { n: 2 }, { priority: 5 });
    await enqueue(conn.db, job, { n: 3 }, { priority: 0, runAt: new Date(Date.now() - 60_000) });
    await enqueue(conn.db, job, { n: 4 }, { priority: -1 });
    expect(await drain(conn.db, [job], { budgetMs: 5_000, concurrency: 1, maxJobs: 3 })).toMatchObject({ claimed: 3, stoppedBy: 'maxJobs' });
    expect(order).toEqual([2, 3, 1]);
    expect(await countJobs(conn.db)).toBe(1);
  });

  it('never claims more than maxJobs, even with two claims on the wire', async () => {
    const job = defineJob({ type: 'drain-max', payload: n, handler: async () => {} });
    await enqueueMany(conn.db, Array.from({ length: 3_000 }, (_, i) => ({ job, payload: { n: i } })));
    const summary = await drain(conn.db, [job], { budgetMs: 30_000, batchSize: 500, maxJobs: 1_700 });
    expect(summary).toMatchObject({ claimed: 1_700, completed: 1_700, stoppedBy: 'maxJobs' });
    expect(await countJobs(conn.db)).toBe(1_300);
  });

  it('claims only the requested types', async () => {
    const a = defineJob({ type: 'drain-type-a', payload: n, handler: async () => {} });
    const b = defineJob({ type: 'drain-type-b', payload: n, handler: async () => {} });
    await enqueue(conn.db, a, { n: 1 });
    await enqueue(conn.db, b, { n: 2 });
    expect(await drain(conn.db, [a, b], { budgetMs: 5_000, types: ['drain-type-b'] })).toMatchObject({ claimed: 1, completed: 1 });
    expect(await countJobs(conn.db, sql`type = 'drain-type-a'`)).toBe(1);
  });

  it('gives the handler its job context and the database', async () => {
    let seen: unknown;
    const job = defineJob({
      type: 'drain-ctx', payload: n, maxAttempts: 3,
      handler: async (payload, ctx) => {
        const [row] = await select<{ status: string }>(ctx.db, sql`select status from sluice.jobs where id = ${ctx.job.id}`);
        seen = { payload, job: { ...ctx.job, createdAt: ctx.job.createdAt instanceof Date }, status: row?.status, aborted: ctx.signal.aborted };
      },
    });
    const { id } = await enqueue(conn.db, job, { n: 7 });
    await drain(conn.db, [job], { budgetMs: 5_000 });
    expect(seen).toEqual({
      payload: { n: 7 }, status: 'running', aborted: false,
      job: { id, type: 'drain-ctx', attempt: 1, maxAttempts: 3, createdAt: true },
    });
  });
});

describe('drain options', () => {
  it('refuses to run without job definitions or with bad options', async () => {
    const db = {} as never; // never reached: validation comes first
    await expect(drain(db, [])).rejects.toThrow(/at least one job definition/);
    const job = defineJob({ type: 'drain-opts', payload: n, handler: async () => {} });
    await expect(drain(db, [job], { concurrency: 0 })).rejects.toThrow();
    await expect(drain(db, [job], { budgetMs: -5 })).rejects.toThrow();
    await expect(drain(db, [job], { types: ['drain-opts', 'nobody-defines-this'] })).rejects.toThrow(/nobody-defines-this/);
    await expect(drain(db, [job], { leaseGraceMs: 0 })).rejects.toThrow(/leaseGraceMs/);
    await expect(drain(db, [job], { budgetMs: 2 ** 31 })).rejects.toThrow(/budgetMs/);
    await expect(drain(db, [job], { deadline: Date.now() + 30 * 86_400_000 })).rejects.toThrow(/a day ahead/);
  });
});
