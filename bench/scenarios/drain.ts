import { relayed, round, type Context, type InstalledSystem } from '../context.js';
import { runChild } from '../fork.js';
import type { DrainResult } from '../systems/types.js';

export interface DrainRow {
  system: string;
  /** Row label: the system, or the system and its non-default settings. */
  label: string;
  /** null: direct to the server, no relay. */
  rttMs: number | null;
  jobs: number;
  completed: number;
  ms: number;
  jobsPerSec: number;
  firstJobMs: number;
  capped: boolean;
  /** From the relay (absent when direct). */
  statements?: number;
  statementsPerJob?: number;
  turns?: number;
  turnsPerJob?: number;
  connections?: number;
  maxRssMb: number;
  baseRssMb: number;
  /** Plain Node on a bundle (memory run) rather than tsx, whose loader adds ~35 MB RSS. */
  plainNode?: boolean;
  /** jobs/s of every repetition; the row reports the best. */
  repeats?: number[];
  extra?: unknown;
}

/**
 * One drain of `jobs` no-op jobs by `system` in a process of its own: reset and seed over a direct
 * connection, then the child drains through a relay of `rttMs` (or directly) until every completion
 * is persisted.
 */
export async function drainOnce(
  ctx: Context,
  system: InstalledSystem,
  rttMs: number | null,
  jobs: number,
  opts: { label?: string; options?: Record<string, unknown>; plain?: boolean } = {},
): Promise<DrainRow> {
  await system.setup.reset();
  await system.setup.seed(jobs);
  const relay = await relayed(ctx, system, rttMs);
  try {
    const capMs = ctx.sizes.capMs;
    const out = await runChild<DrainResult>({
      kind: 'drain', system: system.name, at: relay.at, direct: system.direct, n: jobs, capMs, options: opts.options,
    }, undefined, opts.plain);
    const r = out.result;
    const stats = rttMs === null ? undefined : relay.stats();
    const left = await system.setup.remaining();
    if (left > 0 && !r.capped) ctx.log(`  ! ${system.name}: ${left} jobs left after a drain that said it finished`);
    const row: DrainRow = {
      system: system.name,
      label: opts.label ?? system.name,
      rttMs,
      jobs,
      completed: r.completed,
      ms: round(r.ms),
      jobsPerSec: Math.round((r.completed / r.ms) * 1000),
      firstJobMs: round(r.firstJobMs),
      capped: r.capped,
      maxRssMb: out.maxRssMb,
      baseRssMb: out.baseRssMb,
      ...(opts.plain ? { plainNode: true } : {}),
      extra: r.extra,
    };
    if (stats) {
      Object.assign(row, {
        statements: stats.statements,
        statementsPerJob: round(stats.statements / Math.max(1, r.completed), 4),
        turns: stats.turns,
        turnsPerJob: round(stats.turns / Math.max(1, r.completed), 4),
        connections: stats.connections,
      });
    }
    const where = rttMs === null ? 'local' : `${rttMs} ms`;
    const counted = stats ? `, ${row.statementsPerJob} statements/job, ${row.turnsPerJob} turns/job` : '';
    ctx.log(`  ${row.label} @ ${where}: ${row.jobsPerSec} jobs/s (${row.completed}/${jobs} in ${Math.round(row.ms)} ms${row.capped ? ', CAPPED' : ''}${counted})`);
    return row;
  } finally {
    await relay.close();
  }
}

/** The row of drains that keep completed runs (an instance's default) rather than delete them (a drain's own). */
export const KEPT_LABEL = 'sluice (completed runs kept)';

/** Tuned settings for the optional extra Sluice rows: bigger claims than the default 1,000, more handlers at once. */
export const SLUICE_TUNED = { batchSize: 2_000, concurrency: 50 };

/**
 * Throughput of every system locally and at each relay RTT, systems interleaved so each RTT is
 * measured under the same conditions, `repeats` times; each row keeps the best run (the one least
 * disturbed by whatever else the machine was doing) and lists them all. Sluice also drains once
 * through a 0 ms relay: that run only counts its statements locally (the relay's own CPU would
 * otherwise cost the local figure).
 */
export async function throughput(ctx: Context): Promise<DrainRow[]> {
  const rows: DrainRow[] = [];
  const { drainJobs, rtts, tuned, repeats } = ctx.sizes;
  const sluice = ctx.systems.find((s) => s.name === 'sluice')!;
  const tunedLabel = `sluice (batchSize ${SLUICE_TUNED.batchSize}, concurrency ${SLUICE_TUNED.concurrency})`;
  for (const rtt of [null, ...rtts]) {
    ctx.log(`drain throughput, ${drainJobs} jobs, ${rtt === null ? 'local' : `${rtt} ms RTT`}, ${repeats}x`);
    const runs: DrainRow[] = [];
    for (let i = 0; i < repeats; i++) {
      for (const system of ctx.systems) runs.push(await drainOnce(ctx, system, rtt, drainJobs));
      // What an instance does by default (SLUICE_COMPLETED_RETENTION): every completed run kept as history.
      runs.push(await drainOnce(ctx, sluice, rtt, drainJobs, { label: KEPT_LABEL, options: { drain: { keepCompleted: true } } }));
      if (tuned) runs.push(await drainOnce(ctx, sluice, rtt, drainJobs, { label: tunedLabel, options: { drain: SLUICE_TUNED } }));
    }
    for (const label of new Set(runs.map((r) => r.label))) {
      const mine = runs.filter((r) => r.label === label);
      const best = mine.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
      rows.push({ ...best, repeats: mine.map((r) => r.jobsPerSec) });
    }
    if (rtt === null) rows.push(await drainOnce(ctx, sluice, 0, drainJobs, { label: 'sluice (counting relay, 0 ms)' }));
  }
  return rows;
}

/**
 * Peak memory (max RSS) of one Sluice drain of `memoryJobs` at defaults, in plain Node on a bundle of
 * the drain's process, as a deployment runs it (under tsx the loader alone adds ~35 MB).
 */
export async function memory(ctx: Context): Promise<DrainRow> {
  ctx.log(`peak memory, sluice drain of ${ctx.sizes.memoryJobs} jobs (plain Node)`);
  const sluice = ctx.systems.find((s) => s.name === 'sluice')!;
  return drainOnce(ctx, sluice, null, ctx.sizes.memoryJobs, { plain: true });
}
