import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoffDelayMs, connect, defineJob, enqueue, migrate, pickDriver, queueStats } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { select } from './support/sql.js';

describe('backoff', () => {
  it('doubles from baseMs, caps at maxMs, and jitters within the upper half', () => {
    const policy = { baseMs: 1_000, maxMs: 3_600_000 };
    const ceilings = [1, 2, 3, 4, 5, 13, 30].map((a) => backoffDelayMs(a, policy, () => 1));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 3_600_000, 3_600_000]);
    expect([1, 2, 3].map((a) => backoffDelayMs(a, policy, () => 0))).toEqual([500, 1_000, 2_000]);
    const samples = Array.from({ length: 200 }, () => backoffDelayMs(3));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(4_000);
    expect(new Set(samples).size).toBeGreaterThan(1);
  });
});

describe('defineJob', () => {
  it('rejects bad options and names', () => {
    const payload = z.object({});
    const handler = async () => {};
    expect(() => defineJob({ type: 'has space', payload, handler })).toThrow(/job type/);
    expect(() => defineJob({ type: 'ok', payload, handler, maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => defineJob({ type: 'ok', payload, handler, timeoutMs: 1.5 })).toThrow(/timeoutMs/);
    expect(() => defineJob({ type: 'ok', payload, handler, timeoutMs: 2 ** 31 })).toThrow(/timeoutMs/);
    expect(() => defineJob({ type: 'ok', payload, handler, priority: 1e10 })).toThrow(/priority/);
    expect(() => defineJob({ type: 'ok', payload, handler, priority: NaN })).toThrow(/priority/);
    expect(() => defineJob({ type: 'ok', payload, handler, backoff: { baseMs: -1 } })).toThrow(/baseMs/);
  });
});

describe('connect', () => {
  it('picks neon for *.neon.tech, pg otherwise, unless overridden', () => {
    expect(pickDriver('postgres://u:p@ep-cool-1.us-east-2.aws.neon.tech/db', undefined)).toBe('neon');
    expect(pickDriver('postgres://u:p@localhost:5432/db', undefined)).toBe('pg');
    expect(pickDriver('postgres://u:p@ep-x.neon.tech/db', 'pg')).toBe('pg');
    expect(() => connect('', {})).toThrow(/DATABASE_URL/);
  });
});

describe('migrate', () => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase('pg', { migrated: false }); });
  afterAll(async () => { await conn?.close(); });

  it('is idempotent and safe when several processes run it at once', async () => {
    const others = [1, 2, 3].map(() => connect(conn.url, { driver: 'pg' }));
    await Promise.all([conn, ...others].map((c) => migrate(c.db)));
    await migrate(conn.db);
    await Promise.all(others.map((c) => c.close()));
    const applied = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from sluice.__drizzle_migrations`);
    const files = await import('../drizzle/meta/_journal.json', { with: { type: 'json' } });
    expect(applied[0]!.n).toBe(files.default.entries.length);
  });

  it('enforces the state machine in the schema', async () => {
    const bad = [
      sql`insert into sluice.jobs (type, payload, status) values ('x', '{}', 'finished')`,
      sql`insert into sluice.jobs (type, payload, status) values ('x', '{}', 'running')`, // running needs a lease
      sql`insert into sluice.jobs (type, payload, max_attempts) values ('x', '{}', 0)`,
    ];
    for (const statement of bad) {
      await expect(conn.db.execute(statement)).rejects.toThrow();
    }
  });
});

describe.each(DRIVERS)('queueStats (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });

  it('counts by status and type of the jobs given, and measures the oldest due pending job', async () => {
    const a = defineJob({ type: 'stats-a', payload: z.object({}), handler: async () => {} });
    const b = defineJob({ type: 'stats-b', payload: z.object({}), handler: async () => {} });
    const none = { pending: 0, running: 0, dead: 0, oldestPendingAgeMs: 0, paused: false };
    expect(await queueStats(conn.db, [a, b])).toEqual({
      pending: 0, running: 0, dead: 0, oldestPendingAgeMs: 0, lastDrainAgeMs: null, paused: [], byType: { 'stats-a': none, 'stats-b': none }, exact: true, sampledAt: null,
    });
    await expect(queueStats(conn.db, [])).rejects.toThrow(/job definitions/);
    await enqueue(conn.db, a, {}, { runAt: new Date(Date.now() - 90_000) });
    await enqueue(conn.db, a, {}, { delayMs: 3_600_000 }); // not due: does not count towards the age
    const dead = await enqueue(conn.db, b, {});
    await conn.db.execute(sql`update sluice.jobs set status = 'dead', dead_at = now() where id = ${dead.id}`);
    const stats = await queueStats(conn.db, [a, b]);
    expect(stats).toMatchObject({ pending: 2, running: 0, dead: 1 });
    expect(stats.oldestPendingAgeMs).toBeGreaterThanOrEqual(89_000);
    expect(stats.oldestPendingAgeMs).toBeLessThan(200_000);
    expect(stats.byType['stats-a']).toMatchObject({ pending: 2, dead: 0 });
    expect(stats.byType['stats-b']).toMatchObject({ pending: 0, dead: 1, oldestPendingAgeMs: 0 });
    // Type names work as well as definitions; a type not named is not counted.
    expect(await queueStats(conn.db, ['stats-b'])).toMatchObject({ pending: 0, dead: 1, byType: { 'stats-b': { dead: 1 } } });
  });
});


describe('uuidv7', () => {
  it('makes unique, version-7, time-ordered ids', async () => {
    const { uuidv7 } = await import('../lib/queue/ids.js');
    const ids = Array.from({ length: 2_000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    const sameMs = Array.from({ length: 10_000 }, () => uuidv7(1_800_000_000_000));
    expect(new Set(sameMs).size).toBe(sameMs.length);
    expect([...sameMs].sort()).toEqual(sameMs);
  });
});

describe('config', () => {
  it('parses the environment once with documented defaults; empty means unset', async () => {
    const { parseConfig } = await import('../lib/queue/index.js');
    const c = parseConfig({ EMAIL_WEBHOOK_URL: '', CRON_SECRET: '', SLUICE_MAX_PAYLOAD_BYTES: '1024' });
    expect(c.EMAIL_WEBHOOK_URL).toBeUndefined();
    expect(c.CRON_SECRET).toBeUndefined();
    expect(c.SLUICE_MAX_PAYLOAD_BYTES).toBe(1024);
    expect(parseConfig({}).ALERT_OLDEST_PENDING_MS).toBe(300_000);
    expect(() => parseConfig({ DATABASE_DRIVER: 'mysql' })).toThrow(/DATABASE_DRIVER/);
  });
});
