import { fileURLToPath } from 'node:url';
import { round, type BigtableSizes, type Context } from '../context.js';
import { runChild } from '../fork.js';
import { bigSystems, mixFill, SKEWS, NOTHING, type BigModule, type BigSide, type Fill, type Reading, type SkewName } from '../bigtable/types.js';
import type { SystemName } from '../systems/index.js';
import type { DrainResult } from '../systems/types.js';

const CHILD = fileURLToPath(new URL('../bigtable/child.ts', import.meta.url));

export interface DrainFigure {
  /** The best of the repeats. */
  jobsPerSec: number;
  runs: number[];
  /** The best drain: start (connect) to the last completion persisted, and to its first job. */
  ms: number;
  firstJobMs: number;
  capped: boolean;
  /** Sluice: its claims during the best drain, and their mean time on the wire. */
  claims?: { count: number; meanMs: number };
}

/** The same drain on a clean table and on the loaded one, alternated; ratio = loaded / clean (best of each). */
export interface Paired { clean: DrainFigure; loaded: DrainFigure; ratio: number }

export interface Latency { medianMs: number; p95Ms: number }

export interface ReadingRow { kind: Reading['kind']; label: string; clean: Latency; loaded: Latency }

export interface SkewRow {
  skew: SkewName;
  what: string;
  rows: number;
  /** Absent when the system has no equivalent (`na` says why). */
  drain?: Paired;
  na?: string;
  fillSec?: number;
}

export interface BigtableSystem {
  system: SystemName;
  notes: string[];
  /** The year-old table: how long its set-based fill took, its rows and size with indexes. */
  fillSec: number;
  table: { rows: number; mb: number };
  drain: Paired;
  claim: { batch: number; clean: Latency; loaded: Latency; plan?: { clean: string; loaded: string } };
  readings: ReadingRow[];
  skews: SkewRow[];
  /** Everything for this system, fills and vacuums included. */
  sec: number;
}

export interface Bigtable {
  sizes: BigtableSizes;
  mix: Fill;
  systems: BigtableSystem[];
}

const latency = (ms: number[]): Latency => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { medianMs: round(sorted[Math.floor(sorted.length / 2)]!, 2), p95Ms: round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!, 2) };
};

interface Both { clean: BigSide; loaded: BigSide }

/** One drain of the sizes' drainJobs seeded jobs in a process of its own, directly (no relay). */
async function drainOnce(ctx: Context, system: SystemName, side: BigSide, extra: Record<string, unknown>): Promise<DrainResult> {
  const { drainJobs: n, capMs } = ctx.sizes.bigtable;
  const seeded = await side.seed(n);
  const out = await runChild<DrainResult>({
    kind: 'drain', system, at: side.direct, direct: side.direct, n, capMs, options: { ...seeded, ...extra },
  }, undefined, false, CHILD);
  if (out.result.completed < n) {
    ctx.log(`  ! ${system}: ${out.result.completed}/${n} jobs ran${out.result.capped ? ' (capped)' : ''}`);
    await side.cleanup(seeded);
  }
  return out.result;
}

function figure(results: DrainResult[]): DrainFigure {
  const rate = (r: DrainResult) => Math.round((r.completed / r.ms) * 1000);
  const best = results.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const claims = (best.extra as { claims?: { count: number; ms: number } } | undefined)?.claims;
  return {
    jobsPerSec: rate(best),
    runs: results.map(rate),
    ms: round(best.ms),
    firstJobMs: round(best.firstJobMs),
    capped: results.some((r) => r.capped),
    ...(claims ? { claims: { count: claims.count, meanMs: round(claims.ms / Math.max(1, claims.count), 1) } } : {}),
  };
}

/** `repeats` drains on each table, alternated so the machine's noise falls on both alike. */
async function pairedDrains(ctx: Context, system: SystemName, both: Both, label: string, extra: Record<string, unknown> = {}): Promise<Paired> {
  const runs = { clean: [] as DrainResult[], loaded: [] as DrainResult[] };
  for (let i = 0; i < ctx.sizes.bigtable.repeats; i++) {
    runs.clean.push(await drainOnce(ctx, system, both.clean, extra));
    runs.loaded.push(await drainOnce(ctx, system, both.loaded, extra));
  }
  const paired = { clean: figure(runs.clean), loaded: figure(runs.loaded), ratio: 0 };
  paired.ratio = round(paired.loaded.jobsPerSec / paired.clean.jobsPerSec, 2);
  const claims = (f: DrainFigure) => (f.claims ? ` (${f.claims.count} claims, ${f.claims.meanMs} ms each)` : '');
  ctx.log(`  ${system}, ${label}: drain ${paired.loaded.jobsPerSec} jobs/s${claims(paired.loaded)} vs clean ${paired.clean.jobsPerSec}${claims(paired.clean)}: ${paired.ratio}x`);
  return paired;
}

async function pairedClaims(ctx: Context, system: SystemName, both: Both): Promise<BigtableSystem['claim']> {
  const samples = ctx.sizes.bigtable.claimSamples;
  const clean = await both.clean.claims(samples);
  const loaded = await both.loaded.claims(samples);
  const ms = { clean: [] as number[], loaded: [] as number[] };
  for (let i = 0; i < samples; i++) {
    ms.clean.push(await clean.once());
    ms.loaded.push(await loaded.once());
  }
  const plan = clean.explain && loaded.explain ? { clean: await clean.explain(), loaded: await loaded.explain() } : undefined;
  await clean.done();
  await loaded.done();
  const claim = { batch: clean.batch, clean: latency(ms.clean), loaded: latency(ms.loaded), ...(plan ? { plan } : {}) };
  ctx.log(`  ${system}: claim of ${claim.batch} median ${claim.loaded.medianMs} ms vs clean ${claim.clean.medianMs} ms`);
  return claim;
}

async function pairedReadings(ctx: Context, system: SystemName, both: Both): Promise<ReadingRow[]> {
  const seen = { clean: [] as Reading[][], loaded: [] as Reading[][] };
  for (let i = 0; i < ctx.sizes.bigtable.statsSamples; i++) {
    seen.clean.push(await both.clean.readings());
    seen.loaded.push(await both.loaded.readings());
  }
  const rows = seen.clean[0]!.map(({ kind, label }, k): ReadingRow => ({
    kind, label, clean: latency(seen.clean.map((r) => r[k]!.ms)), loaded: latency(seen.loaded.map((r) => r[k]!.ms)),
  }));
  for (const r of rows) ctx.log(`  ${system}: ${r.label} median ${r.loaded.medianMs} ms vs clean ${r.clean.medianMs} ms`);
  return rows;
}

async function measureSystem(ctx: Context, system: SystemName, big: BigModule): Promise<BigtableSystem> {
  const started = performance.now();
  const sizes = ctx.sizes.bigtable;
  const db = system.replace('-', '_');
  const both: Both = { clean: await big.open(ctx.pg, `bigtable_${db}_clean`), loaded: await big.open(ctx.pg, `bigtable_${db}`) };
  try {
    ctx.log(`bigtable: ${system}: filling ${sizes.rows.toLocaleString('en')} rows`);
    const fillSec = round(await both.loaded.fill(mixFill(sizes.rows), ctx.log), 1);
    const table = await both.loaded.size();
    ctx.log(`  ${system}: filled in ${fillSec} s, ${table.mb.toLocaleString('en')} MB with indexes`);
    const drain = await pairedDrains(ctx, system, both, `${sizes.rows.toLocaleString('en')} rows`);
    const claim = await pairedClaims(ctx, system, both);
    const readings = await pairedReadings(ctx, system, both);
    const skews: SkewRow[] = [];
    for (const skew of SKEWS) {
      const rows = sizes[skew.name === 'rate' ? 'rateKeys' : skew.name];
      const row: SkewRow = { skew: skew.name, what: skew.what(rows.toLocaleString('en')), rows };
      skews.push(row);
      if (big.na[skew.name]) {
        row.na = big.na[skew.name];
        continue;
      }
      await both.loaded.clear();
      row.fillSec = round(await both.loaded.fill({ ...NOTHING, [skew.part]: rows }, ctx.log), 1);
      row.drain = await pairedDrains(ctx, system, both, row.what, { rate: skew.name === 'rate' });
    }
    return { system, notes: big.notes, fillSec, table, drain, claim, readings, skews, sec: Math.round((performance.now() - started) / 1000) };
  } finally {
    await both.clean.close().catch((e: unknown) => ctx.log(`  ! closing ${system}'s clean database: ${String(e)}`));
    await both.loaded.close().catch((e: unknown) => ctx.log(`  ! closing ${system}'s loaded database: ${String(e)}`));
  }
}

/**
 * The big table (issue 17): per system, a table of `rows` rows mixed as a year of use leaves it and a
 * clean table, each in a database of its own; on both, drains of `drainJobs` no-op jobs, claims, stats
 * and health. Then each skew alone in the emptied table, drained beside the clean one. One system at a
 * time, its databases dropped before the next (10M rows are gigabytes).
 */
export async function bigtable(ctx: Context): Promise<Bigtable> {
  const systems: BigtableSystem[] = [];
  for (const s of ctx.systems) {
    const load = bigSystems[s.name];
    if (load) systems.push(await measureSystem(ctx, s.name, await load()));
  }
  return { sizes: ctx.sizes.bigtable, mix: mixFill(ctx.sizes.bigtable.rows), systems };
}
