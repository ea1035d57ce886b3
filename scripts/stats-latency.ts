/**
 * What stats and health cost as the table grows: `npx tsx scripts/stats-latency.ts [rows...]` (default
 * 1,000 and 1,000,000; RUNNING=n sets the running jobs, default 100). For each size, a fresh database (an
 * embedded Postgres, or DATABASE_URL's server) holds the rows of a year-old queue: 65% pending (half due,
 * half a month ahead), 35% dead, a quarter of them another app's, and RUNNING running jobs: as many as
 * drains hold, whatever the table holds (a drain holds up to its batch, 1,000, claimed). Medians of 30
 * runs, one connection, after 3 to warm up, of:
 * - the statement stats ran before apps were told apart (a GROUP BY over the whole table);
 * - sluice.stats() now (queries-stats.ts), before and after the tick's first sample;
 * - GET /api/health with a secret (a fresh reading; without one it is that reading, at most 5 s old);
 * - the tick's once-a-minute sample and retention (queries-housekeeping.ts), which stats read past
 *   STATS_LIVE_LIMIT: the exact counts, paid once a minute in the background.
 */
import { sql, type SQL } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { serve } from '../lib/adapters/node.js';
import { createSluice, defineJob } from '../lib/index.js';
import { connect, migrate, type Db } from '../lib/queue/index.js';
import { housekeepingCtes, housekeepingOutput } from '../lib/queue/housekeeping/queries-housekeeping.js';
import { memoryHintStore } from '../lib/wake/hint.js';
import { startLocalPostgres } from './local-postgres.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SECRET = 'stats-latency-admin-secret';
const TYPES = ['email', 'invoice', 'report'];
const jobs = TYPES.map((type) => defineJob({ type, payload: z.object({}), handler: async () => {} }));

/** The statement sluice.stats() sent before (lib/queue/queries.ts, jobStats): kept here to compare. */
const BEFORE = sql`select coalesce((select json_agg(s) from (
    select type, status, count(*)::int as count,
           (extract(epoch from now() - min(run_after) filter (where status = 'pending' and run_after <= now())) * 1000)::float8 as oldest_due_ms
    from sluice.jobs group by type, status order by type, status) s), '[]') as rows,
  (select (extract(epoch from now() - last_drain_ok_at) * 1000)::float8 from sluice.queue_state where id = 1) as last_drain_age_ms,
  coalesce((select json_agg(type order by type) from sluice.paused_types), '[]') as paused`;

async function median(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[15]!;
}

const RUNNING = Number(process.env.RUNNING ?? 100);

async function seed(db: Db, rows: number) {
  // Running ones spread through the table, as claims take them from anywhere in it.
  const every = Math.max(1, Math.floor(rows / RUNNING));
  await db.execute(sql`insert into sluice.jobs (type, payload, status, run_after, dead_at, locked_until, lock_token)
    select (array['email', 'invoice', 'report', 'another-app'])[1 + i % 4], '{}'::jsonb, s.status,
           case when i % 2 = 0 then now() - interval '1 minute' else now() + interval '30 days' end,
           case when s.status = 'dead' then now() - (i % 1000) * interval '1 minute' end,
           case when s.status = 'running' then now() + interval '1 hour' end,
           case when s.status = 'running' then gen_random_uuid() end
    from generate_series(1, ${rows}::int) i,
         lateral (select case when i % ${every}::int = 0 and i / ${every}::int <= ${RUNNING}::int then 'running'
                              when i % 100 < 35 then 'dead' else 'pending' end as status) s`);
  // What autovacuum does to a table this size soon after the load (sluice.jobs has low thresholds).
  await db.execute(sql`vacuum analyze sluice.jobs`);
}

async function measure(baseUrl: string, rows: number) {
  const name = `stats_${rows}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const conn = connect(url.toString(), { driver: 'pg', max: 1 });
  await migrate(conn.db);
  await seed(conn.db, rows);
  const sluice = createSluice({ jobs, db: conn.db, hints: memoryHintStore(), settings: { ADMIN_SECRET: SECRET, SLUICE_KICK: false } });
  const server = await serve(sluice, { port: 0 });
  const health = () => fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${SECRET}` } }).then((r) => r.arrayBuffer());
  const params = { scope: sluice.scope(), historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000, pruneBatch: 10_000, alerts: null };
  // The sample of this minute (its `due` guard: a first one each run), as the tick's first claim carries it.
  const sample: SQL = sql`with ${housekeepingCtes(params)} select ${housekeepingOutput(params)}`;
  const result = {
    rows,
    beforeMs: await median(() => conn.db.execute(BEFORE)),
    statsNoSampleMs: await median(() => sluice.stats()),
    sampleMs: await median(async () => {
      await conn.db.execute(sql`delete from sluice.queue_samples`);
      await conn.db.execute(sample);
    }),
    statsMs: await median(() => sluice.stats()),
    healthMs: await median(health),
  };
  await server.close();
  await conn.close();
  return result;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-stats-'));
const local = process.env.DATABASE_URL ? undefined : await startLocalPostgres({ dataDir: join(dir, 'data'), persistent: false });
try {
  const round = (ms: number) => ms.toFixed(ms < 10 ? 2 : 0);
  console.log(`${RUNNING} running jobs`);
  console.log('| rows | before: GROUP BY over the table | stats() | stats() with no sample yet | GET /api/health with a secret | the minute sample (tick, background) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rows of sizes.length ? sizes : [1_000, 1_000_000]) {
    const r = await measure(process.env.DATABASE_URL ?? local!.url, rows);
    console.log(`| ${rows.toLocaleString('en')} | ${round(r.beforeMs)} ms | ${round(r.statsMs)} ms | ${round(r.statsNoSampleMs)} ms | ${round(r.healthMs)} ms | ${round(r.sampleMs)} ms |`);
  }
} finally {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
}
