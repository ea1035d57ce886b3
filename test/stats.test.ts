import { sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob } from '../lib/index.js';
import { appScope, STATS_LIVE_LIMIT } from '../lib/queue/index.js';
import { appStatsSql } from '../lib/queue/housekeeping/queries-stats.js';
import { housekeepingCtes, housekeepingOutput, type HousekeepingReport } from '../lib/queue/housekeeping/queries-housekeeping.js';
import { memoryHintStore } from '../lib/wake/hint.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { select } from './support/sql.js';

// Stats whose cost does not grow with the table: counts are live up to STATS_LIVE_LIMIT per type and
// status, then the cron tick's minute sample; everything is looked up per type of the app, so rows of
// other apps' types are never read. (scripts/stats-latency.ts measures it at a million rows.)
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  for (const table of ['jobs', 'apps', 'queue_samples', 'paused_types']) await conn.db.execute(sql.raw(`delete from sluice.${table}`));
});

const job = (type: string) => defineJob({ type, payload: z.object({}), handler: async () => {} });
const instance = () => createSluice({ jobs: [job('a'), job('b')], db: conn.db, hints: memoryHintStore(), settings: { ...SECRETS, SLUICE_IDLE_CHECK_MS: 0 } });
const insert = (type: string, n: number, status: 'pending' | 'dead', runAfter = sql`now() + interval '1 day'`) => conn.db.execute(sql`
  insert into sluice.jobs (type, payload, status, run_after, dead_at)
  select ${type}::text, '{}', ${status}::text, ${runAfter}, case when ${status}::text = 'dead' then now() end from generate_series(1, ${n}::int)`);

describe('stats', () => {
  it('are live and exact up to the limit, then the latest minute sample\'s, saying so', async () => {
    const app = instance();
    await insert('a', STATS_LIVE_LIMIT + 200, 'pending');
    await insert('b', 3, 'dead');
    // Past the limit with no sample yet: at least the limit, and not exact.
    expect(await app.stats()).toMatchObject({ pending: STATS_LIVE_LIMIT + 1, dead: 3, exact: false, sampledAt: null });
    await app.tick({ reason: 'tick', deadline: Date.now() + 5_000, runtime: { waitUntil: () => {}, runsAfterResponse: true } });
    const sampled = await app.stats();
    expect(sampled).toMatchObject({ pending: STATS_LIVE_LIMIT + 200, dead: 3, exact: false, sampledAt: expect.any(String) });
    expect(sampled.byType).toEqual({
      a: { pending: STATS_LIVE_LIMIT + 200, running: 0, dead: 0, oldestPendingAgeMs: 0, paused: false },
      b: { pending: 0, running: 0, dead: 3, oldestPendingAgeMs: 0, paused: false },
    });
    // Back under the limit: live again.
    await conn.db.execute(sql`delete from sluice.jobs where type = 'a' and id in (select id from sluice.jobs where type = 'a' limit 1000)`);
    expect(await app.stats()).toMatchObject({ pending: 200, exact: true, sampledAt: null });
  });

  it('are of the app\'s own types only, paused ones left out of the oldest due job\'s age', async () => {
    const app = instance();
    await insert('elsewhere', 50, 'dead');
    await insert('elsewhere', 50, 'pending', sql`now() - interval '1 day'`);
    await insert('a', 1, 'pending', sql`now() - interval '1 minute'`);
    await insert('b', 1, 'pending', sql`now() - interval '1 hour'`);
    await app.admin.pause('b');
    const stats = await app.stats();
    expect(stats).toMatchObject({ pending: 2, dead: 0, paused: ['b'], exact: true });
    expect(Object.keys(stats.byType)).toEqual(['a', 'b']);
    expect(stats.oldestPendingAgeMs).toBeGreaterThanOrEqual(59_000);
    expect(stats.oldestPendingAgeMs).toBeLessThan(3_600_000);
    expect(stats.byType.b!.oldestPendingAgeMs).toBeGreaterThanOrEqual(3_599_000);
  });

  it('read at most the live limit of index entries per type and status, however many rows there are', async () => {
    await withAnotherApp(5_000, 5_000);
    const [row] = await select<{ 'QUERY PLAN': { Plan: Plan }[] }>(conn.db, sql`explain (analyze, format json) ${appStatsSql(appScope(['a', 'b']), STATS_LIVE_LIMIT)}`);
    const scans = jobScans(row!['QUERY PLAN'][0]!.Plan);
    // Each count stops at the limit + 1; the oldest due job is one entry; running rows (none) are few.
    expect(rowsRead(scans)).toBeLessThanOrEqual(2 * 2 * (STATS_LIVE_LIMIT + 1) + 2);
    expect(new Set(scans.map((n) => n['Index Name']))).toEqual(new Set(['jobs_claim_idx', 'jobs_dead_type_idx', 'jobs_rescue_idx']));
  });

  it('come from a minute sample that counts the app\'s rows exactly, and never reads another app\'s', async () => {
    await withAnotherApp(3_000, 2_000);
    const params = { scope: appScope(['a', 'b']), historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000, pruneBatch: 10_000, alerts: null };
    const housekeeping = sql`with ${housekeepingCtes(params)} select ${housekeepingOutput(params)}`;
    // EXPLAIN ANALYZE runs it: in a transaction rolled back, so the sample below is the statement's own.
    let plan: Plan | undefined;
    await expect(conn.db.transaction(async (tx) => {
      plan = (await select<{ 'QUERY PLAN': { Plan: Plan }[] }>(tx, sql`explain (analyze, format json) ${housekeeping}`))[0]!['QUERY PLAN'][0]!.Plan;
      tx.rollback();
    })).rejects.toBeInstanceOf(TransactionRollbackError);
    // pending (3,000), due (3,000), dead (2,000), the oldest due job (1); the other app's 40,000 never.
    expect(rowsRead(jobScans(plan!))).toBeLessThanOrEqual(3_000 + 3_000 + 2_000 + 10);
    const [{ housekeeping: report }] = await select<{ housekeeping: HousekeepingReport }>(conn.db, housekeeping) as [{ housekeeping: HousekeepingReport }];
    expect(report.totals).toMatchObject({ pending: 3_000, due: 3_000, running: 0, dead: 2_000 });
    expect(await select(conn.db, sql`select type, pending, dead from sluice.queue_samples order by type`)).toEqual([
      { type: '', pending: 3_000, dead: 2_000 }, { type: 'a', pending: 3_000, dead: 0 }, { type: 'b', pending: 0, dead: 2_000 },
    ]);
  });
});

/** The app's own jobs, due a minute ago (types 'a') and dead ('b'), beside 40,000 of another app's, analyzed. */
async function withAnotherApp(pending: number, dead: number) {
  await insert('a', pending, 'pending', sql`now() - interval '1 minute'`);
  await insert('b', dead, 'dead');
  await insert('elsewhere', 20_000, 'pending', sql`now() - interval '1 hour'`);
  await insert('elsewhere', 20_000, 'dead');
  await conn.db.execute(sql`analyze sluice.jobs`);
}

type Plan = Record<string, unknown> & { 'Actual Rows': number; 'Actual Loops': number; Plans?: Plan[] };
const nodes = (plan: Plan): Plan[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];
/** A plan's reads of sluice.jobs, none of them a scan of the whole table. */
function jobScans(plan: Plan): Plan[] {
  const scans = nodes(plan).filter((n) => n['Relation Name'] === 'jobs');
  expect(scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
  return scans;
}
const rowsRead = (scans: Plan[]) => scans.reduce((sum, n) => sum + n['Actual Rows'] * n['Actual Loops'], 0);
