import { round, type Context, type InstalledSystem } from '../context.js';
import { runChild } from '../fork.js';

/**
 * The warm row: a call of 1,000 jobs (the HTTP API's limit per call, so the size bulk enqueues come
 * in) in a process that has made one such call already, untimed: a live server, not a cold start.
 * Only that second call is timed (later ones run ever more optimized code), so each repeat runs
 * `processes` processes per system.
 */
export const WARM_BATCH = { jobs: 1_000, processes: 3 };

export interface EnqueueRow {
  system: string;
  /** The bulk call: Sluice enqueueMany, pg-boss insert, graphile-worker addJobs, BullMQ addBulk. */
  bulkJobs: number;
  bulkMs: number;
  bulkJobsPerSec: number;
  /** ms of every bulk call; the row reports the fastest. */
  bulkRuns: number[];
  /** The same bulk call with WARM_BATCH.jobs jobs, after a first one in the same process. */
  warmJobs: number;
  /** Median of the timed calls, one per process (WARM_BATCH.processes x bulkRepeats). */
  warmMs: number;
  warmJobsPerSec: number;
  warmRuns: number[];
  /** Single enqueues one after another: Sluice enqueue, pg-boss send, addJob, Queue.add. */
  singleJobs: number;
  singleMs: number;
  singleMsEach: number;
  singleJobsPerSec: number;
}

const median = (xs: number[]) => {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Bulk and single enqueue, locally, each in a fresh process with its connection made before the clock
 * starts; the payloads are built before it starts too, so only the library's calls are timed. The
 * bulk figure is a process's first call, of `bulkJobs`; the warm one its second call of 1,000, after
 * one of 1,000 untimed: every system gets the same payloads and the same warm-up.
 */
export async function enqueue(ctx: Context): Promise<EnqueueRow[]> {
  const { bulkJobs, singleJobs } = ctx.sizes;
  const warmProcesses = WARM_BATCH.processes * ctx.sizes.bulkRepeats;
  ctx.log(`enqueue: bulk calls of ${bulkJobs} jobs (best of ${ctx.sizes.bulkRepeats}), second calls of ${WARM_BATCH.jobs} (median of ${warmProcesses} processes), ${singleJobs} single enqueues`);
  const rows: EnqueueRow[] = [];
  // Each system in turn, `bulkRepeats` times over, keeping each one's fastest cold call: a single bulk
  // call lasts under a second, so one run is at the mercy of whatever else the machine is doing. A
  // warm call lasts tens of ms, too short for the fastest of several to mean much: the median is.
  const times = new Map(ctx.systems.map((s) => [s.name, { bulk: [] as number[], warm: [] as number[], single: [] as number[] }]));
  const bulk = async (system: InstalledSystem, n: number, calls: number) => {
    await system.setup.reset();
    const { ms } = (await runChild<{ ms: number[] }>({ kind: 'enqueueBulk', system: system.name, at: system.direct, n, calls })).result;
    const inserted = await system.setup.remaining();
    if (inserted !== n * calls) ctx.log(`  ! ${system.name}: bulk enqueue left ${inserted} jobs, expected ${n * calls}`);
    return ms;
  };
  for (let i = 0; i < ctx.sizes.bulkRepeats; i++) {
    for (const system of ctx.systems) {
      const t = times.get(system.name)!;
      t.bulk.push(...(await bulk(system, bulkJobs, 1)));
      await system.setup.reset();
      if (i > 0) continue; // single enqueues last long enough to average their own noise out
      t.single.push((await runChild<{ ms: number }>({ kind: 'enqueueSingle', system: system.name, at: system.direct, n: singleJobs })).result.ms);
      await system.setup.reset();
    }
    // Warm calls take turns between the systems, so a noisy moment on the machine falls on all alike.
    for (let p = 0; p < WARM_BATCH.processes; p++) {
      for (const system of ctx.systems) {
        times.get(system.name)!.warm.push((await bulk(system, WARM_BATCH.jobs, 2))[1]!);
        await system.setup.reset();
      }
    }
  }
  for (const system of ctx.systems) {
    const t = times.get(system.name)!;
    const bulkMs = Math.min(...t.bulk);
    const warmMs = median(t.warm);
    const singleMs = Math.min(...t.single);
    const row: EnqueueRow = {
      system: system.name,
      bulkJobs,
      bulkMs: round(bulkMs),
      bulkJobsPerSec: Math.round((bulkJobs / bulkMs) * 1000),
      bulkRuns: t.bulk.map((ms) => round(ms)),
      warmJobs: WARM_BATCH.jobs,
      warmMs: round(warmMs, 2),
      warmJobsPerSec: Math.round((WARM_BATCH.jobs / warmMs) * 1000),
      warmRuns: t.warm.map((ms) => round(ms, 2)),
      singleJobs,
      singleMs: round(singleMs),
      singleMsEach: round(singleMs / singleJobs, 3),
      singleJobsPerSec: Math.round((singleJobs / singleMs) * 1000),
    };
    ctx.log(`  ${system.name}: bulk ${row.bulkJobsPerSec} jobs/s (${Math.round(row.bulkMs)} ms), warm ${WARM_BATCH.jobs} ${row.warmJobsPerSec} jobs/s (median ${row.warmMs} ms of ${t.warm.map((ms) => Math.round(ms)).join(', ')}), single ${row.singleMsEach} ms each`);
    rows.push(row);
  }
  return rows;
}
