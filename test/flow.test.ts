import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, enqueueMany, ValidationError, type JobDefinition } from '../lib/queue/index.js';
import { flowSlotsPrune } from '../lib/queue/core/queries-flow.js';
import { flowReport, hanging, perKey, rated, serial } from './fixtures/flow-jobs.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { SECRETS } from './http/context.js';
import { runProcess, runProcesses } from './support/processes.js';
import { countJobs, select, waitFor } from './support/sql.js';
import { startWakeApp } from './support/wake.js';

// Flow limits (issue 10): concurrency and rate limits per type and key, held in the claim across drains.
const CHILD = new URL('./fixtures/flow-child.ts', import.meta.url).pathname;
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.flow_slots`);
});

/** A drain process (test/fixtures/flow-child.ts) until it exits; its output lines. */
const drainProcess = (env: Record<string, string> = {}, onLine?: (line: string, kill: () => void) => void) =>
  runProcess(CHILD, { DATABASE_URL: conn.url, DRIVER: 'pg', ...env }, onLine);
const drainProcesses = async (count: number) => (await runProcesses(count, CHILD, () => ({ DATABASE_URL: conn.url, DRIVER: 'pg' }))).flat();

/** The most handlers of `key` running at once, from start/end lines (an end sorts before a start at the same ms). */
function maxConcurrent(lines: string[], key?: string): number {
  const events = lines.map((l) => l.split(' ')).filter(([kind, k]) => (kind === 'start' || kind === 'end') && (key === undefined || k === key))
    .map(([kind, , at]) => ({ delta: kind === 'start' ? 1 : -1, at: Number(at) }))
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (now += e.delta));
  return most;
}
const items = (job: JobDefinition, key: string, count: number) => Array.from({ length: count }, (_, n) => ({ job, payload: { key, n } }));

describe('a concurrency limit', () => {
  it('of 2 per key holds across 4 drain processes, while other keys run beside it', async () => {
    await enqueueMany(conn.db, [...items(perKey, 'hot', 30), ...items(perKey, 'a', 10), ...items(perKey, 'b', 10), ...items(serial, 'x', 8)]);
    const lines = await drainProcesses(4);
    const starts = lines.filter((l) => l.startsWith('start '));
    expect(starts).toHaveLength(58);
    // Every job ran once, on its first attempt: being held back spends no attempt.
    expect(starts.every((l) => l.endsWith(' 1'))).toBe(true);
    for (const key of ['hot', 'a', 'b']) expect(maxConcurrent(lines, key)).toBe(2);
    expect(maxConcurrent(lines, 'serial')).toBe(1);
    // Other keys were not queued behind the hot one: more ran at once than any one key allows.
    expect(maxConcurrent(lines)).toBeGreaterThan(2);
    expect(await countJobs(conn.db)).toBe(0);
    expect(await select(conn.db, sql`select * from sluice.flow_slots where limiter = 'concurrency'`)).toEqual([]);
  });

  it('counts a crashed drain\'s job until its lease ends, then the key runs again', async () => {
    await enqueue(conn.db, hanging, { key: 'x', n: 0 });
    // The process takes the job and is killed mid-run: the job stays running, its slot held.
    const killed = await drainProcess({ MODE: 'hang' }, (line, kill) => line === 'started' && kill());
    expect(killed).toEqual(['started']);
    const ran: string[] = [];
    const local = defineJob({
      type: 'per-key', payload: z.object({ key: z.string(), n: z.number() }), concurrency: { limit: 1, key: (p) => p.key }, timeoutMs: 1_000,
      handler: async (p) => { ran.push(`${p.key}${p.n}`); },
    });
    await enqueueMany(conn.db, [{ job: local, payload: { key: 'x', n: 1 } }, { job: local, payload: { key: 'y', n: 1 } }]);
    const first = await drain(conn.db, [local], { budgetMs: 1_500, leaseGraceMs: 1_000 });
    expect(ran).toEqual(['y1']);
    expect(first.rescued).toBe(0);
    expect(await countJobs(conn.db, sql`concurrency_key = 'x' and status = 'pending' and attempts = 0`)).toBe(1);
    // Once the dead drain's lease ends, its slot is free: the rescue and the waiting job go ahead.
    await waitFor('the key to run again', async () => {
      await drain(conn.db, [local], { budgetMs: 1_500, leaseGraceMs: 1_000 });
      return (await countJobs(conn.db)) === 0 ? true : undefined;
    });
    expect(ran.filter((r) => r.startsWith('x')).sort()).toEqual(['x0', 'x1']);
  });

  it('counts jobs enqueued before the limit existed under the whole type', async () => {
    await conn.db.execute(sql`insert into sluice.jobs (type, payload) select 'serial', jsonb_build_object('key', 'old', 'n', g) from generate_series(1, 6) g`);
    const lines: string[] = [];
    flowReport.line = (l) => lines.push(l);
    const pools = [1, 2].map(() => freshDatabase.reconnect(conn.url, 'pg'));
    try {
      await Promise.all(pools.map((p) => drain(p.db, [serial], { budgetMs: 10_000 })));
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
    await drain(conn.db, [serial], { budgetMs: 10_000 });
    expect(lines.filter((l) => l.startsWith('start'))).toHaveLength(6);
    expect(maxConcurrent(lines)).toBe(1);
  });
});

describe('a rate limit', () => {
  it('of 5 per second per key is never exceeded across 4 drain processes; held jobs keep their attempts', async () => {
    await enqueueMany(conn.db, [...items(rated, 'p', 12), ...items(rated, 'q', 12)]);
    const lines = await drainProcesses(4);
    const starts = lines.filter((l) => l.startsWith('rstart '));
    expect(starts).toHaveLength(24);
    expect(starts.every((l) => l.endsWith(' 1'))).toBe(true);
    for (const key of ['p', 'q']) {
      const at = starts.filter((l) => l.split(' ')[1] === key).map((l) => BigInt(l.split(' ')[2]!)).sort((a, b) => (a < b ? -1 : 1));
      // Any 6 starts in a row span at least a second (the claim's own clock, to the microsecond).
      for (let i = 0; i + 5 < at.length; i++) expect(at[i + 5]! - at[i]!).toBeGreaterThanOrEqual(1_000_000n);
      // The limit was reached, not merely respected: 5 starts fell within one second.
      expect(at[4]! - at[0]!).toBeLessThan(1_000_000n);
    }
  });

  it('prunes spent slots an hour after they were last held', async () => {
    await conn.db.execute(sql`insert into sluice.flow_slots (type, limiter, key, slot, held_until, job_id, token)
      select 'rated', 'rate', 'k' || g, 1, now() - interval '2 hours', gen_random_uuid(), gen_random_uuid() from generate_series(1, 5) g
      union all select 'rated', 'rate', 'recent', 1, now() - interval '1 minute', gen_random_uuid(), gen_random_uuid()`);
    expect(await flowSlotsPrune(conn.db, 3)).toBe(3);
    expect(await flowSlotsPrune(conn.db, 100)).toBe(2);
    expect(await select(conn.db, sql`select key from sluice.flow_slots`)).toEqual([{ key: 'recent' }]);
  });
});

describe('over HTTP', () => {
  it('GET /api/types shows each limit and what holds it; an enqueue whose key fails is a 400', async () => {
    flowReport.line = () => {};
    const account = defineJob({
      type: 'account-sync', payload: z.object({ account: z.string().optional() }), handler: async () => {},
      concurrency: { limit: 3, key: (p) => p.account! },
    });
    const app = await startWakeApp(conn.db, [perKey, rated, account], { SLUICE_KICK: false });
    try {
      await conn.db.execute(sql`insert into sluice.flow_slots (type, limiter, key, slot, held_until, job_id, token)
        values ('per-key', 'concurrency', 'a', 1, now() + interval '1 minute', gen_random_uuid(), gen_random_uuid()),
               ('per-key', 'concurrency', 'b', 2, now() + interval '1 minute', gen_random_uuid(), gen_random_uuid()),
               ('rated', 'rate', 'a', 1, now() - interval '1 second', gen_random_uuid(), gen_random_uuid())`);
      const types = (await app.call('GET', '/api/types', { token: SECRETS.ADMIN_SECRET })).json.types;
      expect(types).toEqual([
        { type: 'account-sync', paused: false, pausedAt: null, concurrency: { limit: 3, perKey: true, held: 0, keys: 0 }, rateLimit: null },
        { type: 'per-key', paused: false, pausedAt: null, concurrency: { limit: 2, perKey: true, held: 2, keys: 2 }, rateLimit: null },
        { type: 'rated', paused: false, pausedAt: null, concurrency: null, rateLimit: { limit: 5, periodMs: 1000, perKey: true, held: 0, keys: 0 } },
      ]);
      const bad = await app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'account-sync', payload: {} } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/concurrency\.key of "account-sync" returned undefined/);
      const good = await app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'account-sync', payload: { account: 'acme' } } });
      expect(good.status).toBe(202);
      expect(await select(conn.db, sql`select concurrency_key, rate_key from sluice.jobs`)).toEqual([{ concurrency_key: 'acme', rate_key: null }]);
    } finally {
      await app.close();
    }
  });
});

describe('flow limits refuse', () => {
  it('a key function that throws or returns no usable key, at enqueue', async () => {
    const bad = (key: (p: { n: number }) => unknown) =>
      defineJob({ type: 'bad-key', payload: z.object({ n: z.number() }), concurrency: { limit: 1, key: key as (p: { n: number }) => string }, handler: async () => {} });
    await expect(enqueue(conn.db, bad(() => { throw new Error('no account'); }), { n: 1 })).rejects.toThrow(/concurrency\.key of "bad-key" threw: no account/);
    await expect(enqueue(conn.db, bad(() => 42), { n: 1 })).rejects.toThrow(ValidationError);
    await expect(enqueue(conn.db, bad(() => ''), { n: 1 })).rejects.toThrow(/unusable string/);
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('limits that are not positive integers, at definition', () => {
    const spec = { type: 't', payload: z.object({}), handler: async () => {} };
    expect(() => defineJob({ ...spec, concurrency: { limit: 0 } })).toThrow(/concurrency.limit must be an integer from 1 to 10000/);
    expect(() => defineJob({ ...spec, rateLimit: { limit: 5, periodMs: 0 } })).toThrow(/rateLimit.periodMs/);
    expect(() => defineJob({ ...spec, rateLimit: { limit: 1.5, periodMs: 1000 } })).toThrow(/rateLimit.limit/);
  });
});

// The limits' parameters (arrays holding nulls) go through both drivers.
describe.each(DRIVERS)('one pass (%s driver)', (driver) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { db = await freshDatabase(driver); });
  afterAll(async () => { await db?.close(); });

  it('lets one pass run a key\'s backlog: a finished job\'s slot goes to the next within the pass', async () => {
    flowReport.line = () => {};
    await enqueueMany(db.db, items(perKey, 'k', 9));
    const pass = await drain(db.db, [perKey], { budgetMs: 10_000 });
    expect(pass).toMatchObject({ completed: 9, stoppedBy: 'empty' });
  });

  it('keeps a pass alive for the next window when it opens before the pass must stop', async () => {
    flowReport.line = () => {};
    const fast = defineJob({ type: 'fast-rated', payload: z.object({ n: z.number() }), rateLimit: { limit: 3, periodMs: 300 }, handler: async () => {} });
    await enqueueMany(db.db, Array.from({ length: 8 }, (_, n) => ({ job: fast, payload: { n } })));
    const pass = await drain(db.db, [fast], { budgetMs: 10_000 });
    expect(pass).toMatchObject({ completed: 8, stoppedBy: 'empty' });
    expect(pass.durationMs).toBeGreaterThanOrEqual(600); // three windows: 3 + 3 + 2
  });
});
