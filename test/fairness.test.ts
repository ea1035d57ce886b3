// Fairness: a type's jobs claimed round-robin across keys, so one tenant's backlog does not hold
// another tenant's few jobs behind it.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueueMany } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { countJobs } from './support/sql.js';

const payload = z.object({ tenant: z.string(), n: z.number() });
const started: { tenant: string; n: number }[] = [];
let running = new Map<string, number>();
let most = new Map<string, number>();
const handler = async (p: z.infer<typeof payload>) => {
  started.push(p);
  running.set(p.tenant, (running.get(p.tenant) ?? 0) + 1);
  most.set(p.tenant, Math.max(most.get(p.tenant) ?? 0, running.get(p.tenant)!));
  await new Promise((r) => setImmediate(r));
  running.set(p.tenant, running.get(p.tenant)! - 1);
};
const fair = defineJob({ type: 'report', payload, fairness: { key: (p) => p.tenant }, handler });
const fairLimited = defineJob({
  type: 'sync', payload, fairness: { key: (p) => p.tenant }, concurrency: { limit: 2, key: (p) => p.tenant },
  rateLimit: { limit: 1_000, periodMs: 60_000, key: (p) => p.tenant }, handler,
});
const unfair = defineJob({ type: 'plain', payload, handler });

let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  started.length = 0;
  running = new Map();
  most = new Map();
  await conn.db.execute(sql`truncate sluice.jobs, sluice.flow_slots`);
});

const backlog = (job: typeof fair | typeof unfair | typeof fairLimited, tenant: string, count: number) =>
  Array.from({ length: count }, (_, n) => ({ job, payload: { tenant, n } }));
/** Where in the start order the last job of `tenant` started (1-based). */
const lastStart = (tenant: string) => started.findLastIndex((s) => s.tenant === tenant) + 1;

describe('fairness', () => {
  it('starts a small tenant\'s 30 jobs within the first 100 runs behind another\'s 3,000', async () => {
    await enqueueMany(conn.db, backlog(fair, 'big', 3_000));
    await enqueueMany(conn.db, backlog(fair, 'small', 30));
    await drain(conn.db, [fair], { budgetMs: 60_000 });
    expect(started).toHaveLength(3_030);
    expect(lastStart('small')).toBeLessThanOrEqual(100);
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('without fairness the same small tenant waits behind the backlog (what fairness is for)', async () => {
    await enqueueMany(conn.db, backlog(unfair, 'big', 3_000));
    await enqueueMany(conn.db, backlog(unfair, 'small', 30));
    await drain(conn.db, [unfair], { budgetMs: 60_000 });
    expect(lastStart('small')).toBeGreaterThan(3_000);
  });

  it('gives every one of 300 tenants its turn before the big one\'s backlog, more keys than a claim holds', async () => {
    await enqueueMany(conn.db, backlog(fair, 'big', 3_000));
    await enqueueMany(conn.db, Array.from({ length: 300 }, (_, i) => ({ job: fair, payload: { tenant: `t${String(i).padStart(3, '0')}`, n: 0 } })));
    await drain(conn.db, [fair], { budgetMs: 60_000 });
    expect(started).toHaveLength(3_300);
    const lastSmall = Math.max(...Array.from({ length: 300 }, (_, i) => lastStart(`t${String(i).padStart(3, '0')}`)));
    expect(lastSmall).toBeLessThanOrEqual(600);
  });

  it('combines with a per-tenant concurrency and rate limit: each holds, and the small tenant still goes early', async () => {
    await enqueueMany(conn.db, backlog(fairLimited, 'big', 500));
    await enqueueMany(conn.db, backlog(fairLimited, 'small', 10));
    const summary = await drain(conn.db, [fairLimited], { budgetMs: 60_000 });
    expect(started, JSON.stringify(summary)).toHaveLength(510);
    expect(lastStart('small')).toBeLessThanOrEqual(60);
    expect(most.get('big')).toBeLessThanOrEqual(2);
    expect(most.get('small')).toBeLessThanOrEqual(2);
  });

  it('runs jobs enqueued before their type had fairness (they carry no key)', async () => {
    await enqueueMany(conn.db, backlog(unfair, 'old', 50));
    await conn.db.execute(sql`update sluice.jobs set type = 'report'`);
    await enqueueMany(conn.db, backlog(fair, 'new', 50));
    await drain(conn.db, [fair], { budgetMs: 60_000 });
    expect(started.filter((s) => s.tenant === 'old')).toHaveLength(50);
    expect(started.filter((s) => s.tenant === 'new')).toHaveLength(50);
    expect(await countJobs(conn.db)).toBe(0);
  });
});
