import { sql } from 'drizzle-orm';
import { completedPrune, connect, DRAIN_DEFAULTS } from '../../lib/queue/index.js';
import { round, type Context } from '../context.js';
import { drainOnce, KEPT_LABEL, type DrainRow } from './drain.js';

/** What keeping completed runs costs: their size on disk, and a drain while retention prunes beside it. */
export interface Retention {
  /** Completed runs kept after a local drain with keepCompleted (no-op jobs, a small payload). */
  runs: number;
  /** sluice.jobs' table and indexes per million kept runs (the queue was otherwise empty), MB. */
  mbPerMillion: { table: number; indexes: number };
  /** A local drain (keepCompleted) while old runs are pruned beside it (compare with the throughput's kept row). */
  pruning: DrainRow;
  /** Old runs the pruning deleted during that drain, and its rate. */
  pruned: number;
  prunedPerSec: number;
}

/** Old completed runs (past a 7-day retention) seeded beside the drain's jobs for the pruning run. */
const OLD_RUNS = 300_000;

export async function retention(ctx: Context): Promise<Retention> {
  const sluice = ctx.systems.find((s) => s.name === 'sluice')!;
  const jobs = ctx.sizes.drainJobs;
  const { db, close } = connect(sluice.direct.pgUrl, { driver: 'pg' });
  const rows = async <T>(q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows;
  try {
    ctx.log(`completed runs kept: a drain of ${jobs} jobs, its footprint, and the same drain beside a prune of ${OLD_RUNS} old runs`);
    await drainOnce(ctx, sluice, null, jobs, { label: KEPT_LABEL, options: { drain: { keepCompleted: true } } });
    await db.execute(sql`vacuum analyze sluice.jobs`);
    const [size] = await rows<{ runs: number; table: number; indexes: number }>(sql`select (select count(*)::int from sluice.jobs where status = 'completed') as runs,
      pg_table_size('sluice.jobs')::float8 as table, pg_indexes_size('sluice.jobs')::float8 as indexes`);
    const perMillion = (bytes: number) => round((bytes / size!.runs) * 1e6 / 1_048_576, 0);

    // The same drain, while the tick's pruning deletes old runs of the same type as fast as it can.
    const seedOld = async () => db.execute(sql.raw(`insert into sluice.jobs (id, type, payload, status, attempts, started_at, completed_at)
      select gen_random_uuid(), 'noop', jsonb_build_object('i', g), 'completed', 1, now() - interval '8 days', now() - interval '8 days' from generate_series(1, ${OLD_RUNS}) g`));
    let pruned = 0;
    let pruning = true;
    let pruneMs = 0;
    const pruner = async () => {
      await new Promise((r) => setTimeout(r, 300)); // the drain's child process is up and claiming by then
      const start = performance.now();
      while (pruning) {
        const n = await completedPrune(db, { types: ['noop'], completedRetentionMs: 7 * 86_400_000, resultRetentionMs: 7 * 86_400_000, limit: DRAIN_DEFAULTS.pruneBatch });
        pruned += n;
        if (n === 0) break;
      }
      pruneMs = performance.now() - start;
    };
    const original = sluice.setup.seed;
    let running: Promise<void> | undefined;
    sluice.setup.seed = async (n) => { await original(n); await seedOld(); running = pruner(); };
    let beside: DrainRow;
    try {
      beside = await drainOnce(ctx, sluice, null, jobs, { label: 'sluice (completed runs kept, pruning beside)', options: { drain: { keepCompleted: true } } });
    } finally {
      sluice.setup.seed = original;
      pruning = false;
      await running;
    }
    return {
      runs: size!.runs,
      mbPerMillion: { table: perMillion(size!.table), indexes: perMillion(size!.indexes) },
      pruning: beside, pruned, prunedPerSec: round(pruned / (pruneMs / 1000), 0),
    };
  } finally {
    await close();
  }
}
