import pg from 'pg';
import { uuidv7 } from '../../lib/queue/ids.js';
import { DRAIN_DEFAULTS, JOB_DEFAULTS } from '../../lib/queue/index.js';
import { round, type Context } from '../context.js';

export interface FloorRow {
  jobs: number;
  /** Rows per statement: the drain's default claim size. */
  batch: number;
  /** Each phase in jobs/s, from the repeat with the best claim + delete. */
  insertJobsPerSec: number;
  claimJobsPerSec: number;
  deleteJobsPerSec: number;
  /** Claim + delete: a drain's share of the row work (its jobs are in the table before its clock starts). */
  drainJobsPerSec: number;
  /** Insert + claim + delete: a job's whole life in the table. */
  cycleJobsPerSec: number;
  /** ms of each phase, every repeat. */
  runs: { insertMs: number; claimMs: number; deleteMs: number }[];
}

const TABLE = 'sluice_floor.jobs';
const LEASE_MS = JOB_DEFAULTS.timeoutMs + DRAIN_DEFAULTS.leaseGraceMs;

// The rows as Sluice writes them: time-ordered ids from the client, payload { i }, defaults elsewhere.
const INSERT = `insert into ${TABLE} (id, type, payload)
  select id, 'noop', jsonb_build_object('i', i) from unnest($1::uuid[], $2::int[]) as r(id, i)`;
// The claim's UPDATE without the rest of the claim statement (no outcomes, heartbeat or rescue): the
// same walk of the claim index, row locks, columns written and columns returned.
const CLAIM = `update ${TABLE} j set status = 'running', attempts = j.attempts + 1, lock_token = $1,
    started_at = now(), locked_until = now() + $2::float8 * interval '1 millisecond'
  where j.id = any(array(
    select id from ${TABLE} where status = 'pending' and run_after <= now()
    order by priority desc nulls last, run_after limit $3::int for update skip locked))
  returning j.id, j.type, j.payload, j.attempts, j.max_attempts, j.created_at`;
const DELETE = `delete from ${TABLE} where id = any($1::uuid[])`;

/** A copy of sluice.jobs' shape: columns, defaults, checks, indexes and its autovacuum settings. */
async function createTable(client: pg.Client) {
  await client.query(`create schema if not exists sluice_floor`);
  await client.query(`drop table if exists ${TABLE}`);
  await client.query(`create table ${TABLE} (like sluice.jobs including all)`);
  const { rows } = await client.query<{ reloptions: string[] | null }>(`select reloptions from pg_class where oid = 'sluice.jobs'::regclass`);
  const options = rows[0]?.reloptions;
  if (options?.length) await client.query(`alter table ${TABLE} set (${options.join(', ')})`);
}

const timed = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

/** One pass: `jobs` rows inserted, claimed and deleted, `batch` at a time, each statement its own commit. */
async function once(client: pg.Client, jobs: number, batch: number) {
  await client.query(`truncate ${TABLE}`);
  await client.query(`vacuum analyze ${TABLE}`);
  let insertMs = 0;
  for (let i = 0; i < jobs; i += batch) {
    const n = Math.min(batch, jobs - i);
    const ids = Array.from({ length: n }, () => uuidv7());
    const numbers = Array.from({ length: n }, (_, k) => i + k);
    insertMs += await timed(() => client.query(INSERT, [`{${ids.join(',')}}`, `{${numbers.join(',')}}`]));
  }
  await client.query(`analyze ${TABLE}`); // as the drain's seeding does, outside the clock
  let claimMs = 0;
  let deleteMs = 0;
  for (let done = 0; done < jobs;) {
    let claimed: string[] = [];
    claimMs += await timed(async () => {
      const { rows } = await client.query<{ id: string }>(CLAIM, [uuidv7(), LEASE_MS, batch]);
      claimed = rows.map((r) => r.id);
    });
    if (claimed.length === 0) throw new Error(`floor: the claim found nothing with ${jobs - done} rows left`);
    deleteMs += await timed(() => client.query(DELETE, [`{${claimed.join(',')}}`]));
    done += claimed.length;
  }
  return { insertMs, claimMs, deleteMs };
}

/**
 * The floor: what this Postgres allows for a drain's row work, as plain SQL on one connection, one
 * statement after another, with no queue logic around it. Same table shape, same batch size and job
 * count as the throughput scenario, in Sluice's database; best of `repeats`, like the drains.
 */
export async function floor(ctx: Context): Promise<FloorRow> {
  const jobs = ctx.sizes.drainJobs;
  const batch = DRAIN_DEFAULTS.batchSize;
  ctx.log(`floor: plain SQL insert, claim update and delete of ${jobs} rows, ${batch} a statement, ${ctx.sizes.repeats}x`);
  const sluice = ctx.systems.find((s) => s.name === 'sluice')!;
  const client = new pg.Client({ connectionString: sluice.direct.pgUrl });
  await client.connect();
  try {
    await createTable(client);
    const runs = [];
    for (let i = 0; i < ctx.sizes.repeats; i++) runs.push(await once(client, jobs, batch));
    await client.query(`drop schema sluice_floor cascade`);
    const best = runs.reduce((a, b) => (b.claimMs + b.deleteMs < a.claimMs + a.deleteMs ? b : a));
    const rate = (ms: number) => Math.round((jobs / ms) * 1000);
    const row: FloorRow = {
      jobs,
      batch,
      insertJobsPerSec: rate(best.insertMs),
      claimJobsPerSec: rate(best.claimMs),
      deleteJobsPerSec: rate(best.deleteMs),
      drainJobsPerSec: rate(best.claimMs + best.deleteMs),
      cycleJobsPerSec: rate(best.insertMs + best.claimMs + best.deleteMs),
      runs: runs.map((r) => ({ insertMs: round(r.insertMs), claimMs: round(r.claimMs), deleteMs: round(r.deleteMs) })),
    };
    ctx.log(`  floor: claim + delete ${row.drainJobsPerSec} jobs/s (insert ${row.insertJobsPerSec}, claim ${row.claimJobsPerSec}, delete ${row.deleteJobsPerSec}; whole cycle ${row.cycleJobsPerSec})`);
    return row;
  } finally {
    await client.end();
  }
}
