import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { appScope, connect, DRAIN_DEFAULTS, migrate, type Db } from '../../lib/queue/index.js';
import { jobClaim, type ClaimParams } from '../../lib/queue/core/queries-drain.js';
import { round, type Context } from '../context.js';

export interface ClaimRow {
  /** What else is in the table besides the pending jobs. */
  case: string;
  otherRows: number;
  pending: number;
  limit: number;
  samples: number;
  medianMs: number;
  p95Ms: number;
  firstMs: number;
  /** Server-side execution time of one more claim under EXPLAIN ANALYZE (no commit, so no fsync). */
  explainMs: number;
  /** EXPLAIN (ANALYZE, BUFFERS) of that claim, rolled back. */
  plan: string;
  /** A cron tick's first claim, which also takes the minute's sample, prunes and checks alerts (median of 5). */
  housekeepingMs: number;
}

const PENDING_SQL = (n: number) => sql`
  insert into sluice.jobs (id, type, payload, run_after)
  select gen_random_uuid(), 'noop', jsonb_build_object('i', g), now() - interval '1 minute' from generate_series(1, ${n}) g`;

/** The claim exactly as the drain sends it, rendered to SQL text so EXPLAIN can run it. */
export function claimQuery(params: ClaimParams): Promise<{ sql: string; params: unknown[] }> {
  let captured: SQL | undefined;
  const capture = { execute: async (q: SQL) => { captured = q; return { rows: [{ written: 0, jobs: [] }] }; } };
  return jobClaim(capture as unknown as Db, params).then(() => new PgDialect().sqlToQuery(captured!));
}

const APP = appScope(['noop']);

// As a drain sends it: its own types only (issue 11), the lease its heartbeats renew.
const params = (limit: number): ClaimParams => ({
  token: randomUUID(), limit, types: ['noop'], app: APP.app, rescueLimit: 0, leaseMs: DRAIN_DEFAULTS.leaseGraceMs, outcomes: [], flow: null,
});

/** The cron tick's housekeeping with alerts on (queries-housekeeping.ts), its defaults' retention. */
const HOUSEKEEPING = {
  scope: APP,
  historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000, pruneBatch: DRAIN_DEFAULTS.pruneBatch,
  alerts: { deadMax: 0, oldestPendingMs: 300_000, drainStaleMs: 1_200_000, repeatMs: 4 * 3_600_000 },
};

interface Case { label: string; otherRows: number; conn: ReturnType<typeof connect>; admin: pg.Client }

/** A database of its own for one case: migrated, autovacuum off (vacuum is setup, never measured). */
async function caseDatabase(ctx: Context, name: string, label: string, otherRows: number): Promise<Case> {
  const url = await ctx.pg.createDatabase(name);
  const conn = connect(url, { driver: 'pg', max: 1 });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await migrate(conn.db);
  await conn.db.execute(sql`alter table sluice.jobs set (autovacuum_enabled = false)`);
  return { label, otherRows, conn, admin };
}

/**
 * Latency of the claim statement (a steady-state claim of batchSize jobs) with few versus many other
 * rows in the table: dead jobs (status 'dead', outside the claim's partial index) and, in full runs,
 * finished jobs whose deleted tuples autovacuum has not reclaimed yet (still in the index). Each case
 * has its own database and the samples alternate between them, so disk and CPU noise from anything
 * else on the machine (every claim commits, and a commit waits for its fsync) falls on all alike.
 */
export async function claimLatency(ctx: Context): Promise<ClaimRow[]> {
  const limit = DRAIN_DEFAULTS.batchSize;
  const samples = ctx.sizes.claimSamples;
  const pending = limit * (samples + 2);
  const cases: Case[] = [];
  for (const [i, dead] of ctx.sizes.deadRows.entries()) {
    ctx.log(`claim latency: preparing ${dead} dead rows`);
    const c = await caseDatabase(ctx, `sluice_claim_${i}`, `${dead.toLocaleString('en')} dead rows`, dead);
    await c.conn.db.execute(sql`
      insert into sluice.jobs (id, type, payload, status, attempts, max_attempts, run_after, last_error, created_at, dead_at)
      select gen_random_uuid(), 'noop', jsonb_build_object('i', g), 'dead', 5, 5, now() - interval '1 day',
             'attempt 5/5: failed', now() - interval '2 days', now() - interval '1 day'
      from generate_series(1, ${dead}) g`);
    await c.conn.db.execute(PENDING_SQL(pending));
    await c.admin.query('vacuum analyze sluice.jobs');
    cases.push(c);
  }
  if (ctx.sizes.deletedRows > 0) {
    // A drain that just finished this many jobs: their rows are deleted but still in jobs_claim_idx.
    const n = ctx.sizes.deletedRows;
    ctx.log(`claim latency: preparing ${n} finished (deleted, not yet vacuumed) rows`);
    const c = await caseDatabase(ctx, 'sluice_claim_deleted', `${n.toLocaleString('en')} finished rows, not yet vacuumed`, n);
    await c.conn.db.execute(PENDING_SQL(n));
    await c.conn.db.execute(sql`delete from sluice.jobs`);
    await c.conn.db.execute(PENDING_SQL(pending));
    await c.admin.query('analyze sluice.jobs');
    cases.push(c);
  }

  ctx.log(`claim latency: ${samples + 1} claims of ${limit} per case, alternating`);
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i <= samples; i++) {
    for (const [k, c] of cases.entries()) {
      const t = performance.now();
      const r = await jobClaim(c.conn.db, params(limit));
      times[k]!.push(performance.now() - t);
      if (r.jobs.length !== limit) throw new Error(`claim took ${r.jobs.length} jobs, expected ${limit}`);
    }
  }
  const rows: ClaimRow[] = [];
  for (const [k, c] of cases.entries()) {
    // Explained after the samples, so the first sample is the first claim to meet this table.
    const q = await claimQuery(params(limit));
    await c.admin.query('begin');
    const explained = await c.admin.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${q.sql}`, q.params);
    await c.admin.query('rollback');
    const plan = explained.rows.map((r) => r['QUERY PLAN']).join('\n');
    // The tick's once-a-minute claim: an empty claim carrying the housekeeping, this minute's sample
    // deleted before each so every one counts the table.
    const hk: number[] = [];
    for (let i = 0; i < 5; i++) {
      await c.conn.db.execute(sql`delete from sluice.queue_samples`);
      const t = performance.now();
      await jobClaim(c.conn.db, { ...params(1), types: ['none'], housekeeping: HOUSEKEEPING });
      hk.push(performance.now() - t);
    }
    const first = times[k]!.shift()!;
    const sorted = [...times[k]!].sort((a, b) => a - b);
    const row: ClaimRow = {
      case: c.label, otherRows: c.otherRows, pending, limit, samples,
      medianMs: round(sorted[Math.floor(sorted.length / 2)]!, 2),
      p95Ms: round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!, 2),
      firstMs: round(first, 2),
      explainMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN),
      plan,
      housekeepingMs: round(hk.sort((a, b) => a - b)[2]!, 2),
    };
    ctx.log(`  ${c.label}: claim of ${limit} median ${row.medianMs} ms, p95 ${row.p95Ms} ms (first ${row.firstMs} ms)`);
    rows.push(row);
    await c.admin.end();
    await c.conn.close();
  }
  return rows;
}
