import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, PermanentError } from '../lib/index.js';
import { drain, enqueueMany } from '../lib/queue/index.js';
import { HISTORY_BUCKETS_MS, percentile } from '../lib/queue/housekeeping/history.js';
import { memoryHintStore } from '../lib/wake/hint.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { select } from './support/sql.js';
import { watchedDb } from './support/wake.js';

// The history (issue 12): counters written by the statements that write outcomes, the tick's
// once-a-minute depth sample and retention, all without a statement of their own.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.job_history`);
  await conn.db.execute(sql`delete from sluice.queue_samples`);
});

const ok = defineJob({ type: 'ok', payload: z.object({ n: z.number() }), handler: async () => {} });
const flaky = defineJob({
  type: 'flaky', payload: z.object({ n: z.number() }), backoff: { baseMs: 1, maxMs: 1 },
  handler: async (_, ctx) => { if (ctx.job.attempt === 1) throw new Error('first try fails'); },
});
const poison = defineJob({ type: 'poison', payload: z.object({}), handler: async () => { throw new PermanentError('never'); } });

const sumOf = (rows: Record<string, unknown>[], key: string) => rows.reduce((a, r) => a + Number(r[key]), 0);
const total = (hist: number[]) => hist.reduce((a, b) => a + b, 0);

describe('history', () => {
  it('counts completed, retried and dead runs with run-time and lag histograms, in the outcome statements only', async () => {
    await enqueueMany(conn.db, [
      ...Array.from({ length: 5 }, (_, n) => ({ job: ok, payload: { n } })),
      ...Array.from({ length: 2 }, (_, n) => ({ job: flaky, payload: { n } })),
      { job: poison, payload: {} },
    ]);
    const watched = watchedDb(conn.db);
    const counts = { completed: 0, retried: 0, dead: 0 };
    // The retries are due a moment later: a pass or two more runs them.
    for (let pass = 0; pass < 20 && counts.completed < 7; pass++) {
      const summary = await drain(watched.db, [ok, flaky, poison], { budgetMs: 5_000 });
      for (const key of ['completed', 'retried', 'dead'] as const) counts[key] += summary[key];
    }
    expect(counts).toEqual({ completed: 7, retried: 2, dead: 1 });
    const rows = await select<{ type: string; completed: number; retried: number; dead: number; run_hist: number[]; lag_hist: number[] }>(
      conn.db, sql`select type, completed, retried, dead, run_hist, lag_hist from sluice.job_history order by type`);
    expect(rows.map(({ type, completed, retried, dead }) => ({ type, completed, retried, dead }))).toEqual([
      { type: 'flaky', completed: 2, retried: 2, dead: 0 },
      { type: 'ok', completed: 5, retried: 0, dead: 0 },
      { type: 'poison', completed: 0, retried: 0, dead: 1 },
    ]);
    for (const r of rows) {
      expect(r.run_hist).toHaveLength(HISTORY_BUCKETS_MS.length + 1);
      expect(total(r.run_hist)).toBe(r.completed + r.retried + r.dead);
      expect(total(r.lag_hist)).toBe(r.completed + r.retried + r.dead);
    }
    // No statement of its own: the history rides on claims and outcome writes.
    const history = watched.statements.filter((s) => s.includes('sluice.job_history'));
    expect(history.length).toBeGreaterThan(0);
    expect(history.every((s) => s.includes('outcome as'))).toBe(true);
    expect(watched.statements.every((s) => s.includes('outcome as') || s.includes('sluice.apps'))).toBe(true);
  });

  it('adds up the sums of several drains in one minute, and reads them back as series and percentiles', async () => {
    for (let round = 0; round < 3; round++) {
      await enqueueMany(conn.db, Array.from({ length: 4 }, (_, n) => ({ job: ok, payload: { n } })));
      await drain(conn.db, [ok], { budgetMs: 5_000 });
    }
    const sluice = createSluice({ jobs: [ok], db: conn.db, settings: SECRETS });
    const history = await sluice.admin.history(3_600_000);
    expect(history.throughput.t).toHaveLength(60);
    expect(total(history.throughput.total.completed)).toBe(12);
    expect(total(history.throughput.byType.ok!.completed)).toBe(12);
    expect(history.times).toEqual([expect.objectContaining({ type: 'ok', runs: 12, runP50: expect.any(Number), lagP99: expect.any(Number) })]);
  });

  it('percentiles interpolate inside a bucket', () => {
    const hist = new Array(HISTORY_BUCKETS_MS.length + 1).fill(0);
    hist[4] = 10; // (10, 20] ms
    expect(percentile(hist, 0.5)).toBe(15);
    expect(percentile(hist, 1)).toBe(20);
    expect(percentile(new Array(hist.length).fill(0), 0.5)).toBeNull();
  });
});

describe('the tick\'s housekeeping', () => {
  const tickOf = (settings: Record<string, unknown> = {}) => {
    const watched = watchedDb(conn.db);
    const sluice = createSluice({ jobs: [ok], db: watched.db, hints: memoryHintStore(), settings: { ...SECRETS, SLUICE_IDLE_CHECK_MS: 0, ...settings } });
    const tick = () => sluice.tick({ reason: 'tick', deadline: Date.now() + 5_000, runtime: { waitUntil: () => {}, runsAfterResponse: true } });
    return { watched, tick };
  };

  it('samples the depth once a minute, per type and in all, on the empty tick\'s one statement', async () => {
    await enqueueMany(conn.db, [{ job: ok, payload: { n: 1 }, delayMs: 3_600_000 }]);
    await conn.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values ('ok', '{"n":2}', 'dead', now())`);
    const { watched, tick } = tickOf();
    await tick();
    expect(watched.statements).toHaveLength(1);
    const samples = await select(conn.db, sql`select type, pending, due, running, dead from sluice.queue_samples order by type`);
    expect(samples).toEqual([{ type: '', pending: 1, due: 0, running: 0, dead: 1 }, { type: 'ok', pending: 1, due: 0, running: 0, dead: 1 }]);
    await tick(); // the same minute: no second sample
    expect(watched.statements).toHaveLength(2);
    expect(await select(conn.db, sql`select count(*)::int as n from sluice.queue_samples`)).toEqual([{ n: 2 }]);
  });

  it('prunes history and samples past SLUICE_HISTORY_RETENTION and dead jobs past SLUICE_DEAD_RETENTION; stamps dead rows without dead_at', async () => {
    await conn.db.execute(sql`insert into sluice.job_history (minute, type, run_hist, lag_hist) values
      (date_trunc('minute', now() - interval '8 days'), 'ok', '{}', '{}'), (date_trunc('minute', now() - interval '6 days'), 'ok', '{}', '{}')`);
    await conn.db.execute(sql`insert into sluice.queue_samples (minute, type, pending, due, running, dead, oldest_due_ms) values
      (date_trunc('minute', now() - interval '8 days'), '', 0, 0, 0, 0, 0)`);
    await conn.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values
      ('ok', '{"n":"old"}', 'dead', now() - interval '31 days'), ('ok', '{"n":"recent"}', 'dead', now() - interval '29 days'),
      ('ok', '{"n":"unstamped"}', 'dead', null)`);
    await tickOf().tick();
    expect(await select(conn.db, sql`select (now() - minute > interval '7 days') as old from sluice.job_history`)).toEqual([{ old: false }]);
    expect(await select(conn.db, sql`select count(*)::int as n from sluice.queue_samples where minute < now() - interval '7 days'`)).toEqual([{ n: 0 }]);
    const dead = await select<{ n: string; stamped: boolean }>(conn.db, sql`select payload->>'n' as n, dead_at is not null as stamped from sluice.jobs order by n`);
    expect(dead).toEqual([{ n: 'recent', stamped: true }, { n: 'unstamped', stamped: true }]);
    // A shorter retention, as configured: the recent one goes too.
    await conn.db.execute(sql`delete from sluice.queue_samples`);
    await tickOf({ SLUICE_DEAD_RETENTION: '7d' }).tick();
    expect(await select(conn.db, sql`select payload->>'n' as n from sluice.jobs`)).toEqual([{ n: 'unstamped' }]);
  });
});
