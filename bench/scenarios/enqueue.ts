import { round, type Context } from '../context.js';
import { runChild } from '../fork.js';

export interface EnqueueRow {
  system: string;
  /** The bulk call: Sluice enqueueMany, pg-boss insert, graphile-worker addJobs, BullMQ addBulk. */
  bulkJobs: number;
  bulkMs: number;
  bulkJobsPerSec: number;
  /** ms of every bulk call; the row reports the fastest. */
  bulkRuns: number[];
  /** Single enqueues one after another: Sluice enqueue, pg-boss send, addJob, Queue.add. */
  singleJobs: number;
  singleMs: number;
  singleMsEach: number;
  singleJobsPerSec: number;
}

/**
 * Bulk and single enqueue, locally, each in a fresh process with its connection made before the clock
 * starts; the payloads are built before it starts too, so only the library's call is timed.
 */
export async function enqueue(ctx: Context): Promise<EnqueueRow[]> {
  const { bulkJobs, singleJobs } = ctx.sizes;
  ctx.log(`enqueue: bulk calls of ${bulkJobs} jobs (best of ${ctx.sizes.bulkRepeats}), ${singleJobs} single enqueues`);
  const rows: EnqueueRow[] = [];
  // Each system in turn, `bulkRepeats` times over, keeping each one's fastest call: a single bulk call
  // lasts under a second, so one run is at the mercy of whatever else the machine is doing.
  const times = new Map(ctx.systems.map((s) => [s.name, { bulk: [] as number[], single: [] as number[] }]));
  for (let i = 0; i < ctx.sizes.bulkRepeats; i++) {
    for (const system of ctx.systems) {
      const t = times.get(system.name)!;
      await system.setup.reset();
      t.bulk.push((await runChild<{ ms: number }>({ kind: 'enqueueBulk', system: system.name, at: system.direct, n: bulkJobs })).result.ms);
      const inserted = await system.setup.remaining();
      if (inserted !== bulkJobs) ctx.log(`  ! ${system.name}: bulk enqueue left ${inserted} jobs, expected ${bulkJobs}`);
      await system.setup.reset();
      if (i > 0) continue; // single enqueues last long enough to average their own noise out
      t.single.push((await runChild<{ ms: number }>({ kind: 'enqueueSingle', system: system.name, at: system.direct, n: singleJobs })).result.ms);
      await system.setup.reset();
    }
  }
  for (const system of ctx.systems) {
    const t = times.get(system.name)!;
    const bulkMs = Math.min(...t.bulk);
    const singleMs = Math.min(...t.single);
    const row: EnqueueRow = {
      system: system.name,
      bulkJobs,
      bulkMs: round(bulkMs),
      bulkJobsPerSec: Math.round((bulkJobs / bulkMs) * 1000),
      bulkRuns: t.bulk.map((ms) => round(ms)),
      singleJobs,
      singleMs: round(singleMs),
      singleMsEach: round(singleMs / singleJobs, 3),
      singleJobsPerSec: Math.round((singleJobs / singleMs) * 1000),
    };
    ctx.log(`  ${system.name}: bulk ${row.bulkJobsPerSec} jobs/s (${Math.round(row.bulkMs)} ms), single ${row.singleMsEach} ms each`);
    rows.push(row);
  }
  return rows;
}
