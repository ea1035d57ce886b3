import { round, type Context } from '../context.js';
import { runChild } from '../fork.js';

export interface EnqueueRow {
  system: string;
  /** The bulk call: Sluice enqueueMany, pg-boss insert, graphile-worker addJobs, BullMQ addBulk. */
  bulkJobs: number;
  bulkMs: number;
  bulkJobsPerSec: number;
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
  ctx.log(`enqueue: one bulk call of ${bulkJobs} jobs, then ${singleJobs} single enqueues`);
  const rows: EnqueueRow[] = [];
  for (const system of ctx.systems) {
    await system.setup.reset();
    const bulk = await runChild<{ ms: number }>({ kind: 'enqueueBulk', system: system.name, at: system.direct, n: bulkJobs });
    const inserted = await system.setup.remaining();
    if (inserted !== bulkJobs) ctx.log(`  ! ${system.name}: bulk enqueue left ${inserted} jobs, expected ${bulkJobs}`);
    await system.setup.reset();
    const single = await runChild<{ ms: number }>({ kind: 'enqueueSingle', system: system.name, at: system.direct, n: singleJobs });
    await system.setup.reset();
    const row: EnqueueRow = {
      system: system.name,
      bulkJobs,
      bulkMs: round(bulk.result.ms),
      bulkJobsPerSec: Math.round((bulkJobs / bulk.result.ms) * 1000),
      singleJobs,
      singleMs: round(single.result.ms),
      singleMsEach: round(single.result.ms / singleJobs, 3),
      singleJobsPerSec: Math.round((singleJobs / single.result.ms) * 1000),
    };
    ctx.log(`  ${system.name}: bulk ${row.bulkJobsPerSec} jobs/s (${Math.round(row.bulkMs)} ms), single ${row.singleMsEach} ms each`);
    rows.push(row);
  }
  return rows;
}
