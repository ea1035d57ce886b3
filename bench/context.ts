import type { BenchPostgres, BenchRedis } from './services.js';
import { startRelay, type Relay, type RelayStats } from './relay.js';
import type { SystemName } from './systems/index.js';
import type { Endpoints, SystemSetup } from './systems/types.js';

/** What every scenario gets: the servers, the installed systems and the run's sizes. */
export interface Context {
  quick: boolean;
  sizes: Sizes;
  pg: BenchPostgres;
  redis?: BenchRedis;
  /** Installed systems in run order; a system whose store is missing is in `skipped`. */
  systems: InstalledSystem[];
  skipped: Partial<Record<SystemName, string>>;
  log(message: string): void;
}

export interface InstalledSystem {
  name: SystemName;
  setup: SystemSetup;
  /** Un-relayed endpoints: seeding, resets and completion checks go here. */
  direct: Endpoints;
}

export interface Sizes {
  drainJobs: number;
  rtts: number[];
  /** Drains per system and RTT; the best is reported (the machine may be shared). */
  repeats: number;
  /** Upper bound of one drain, so a slow peer at a high RTT cannot stall the run. */
  capMs: number;
  bulkJobs: number;
  /** Bulk enqueue calls per system; the fastest is reported. */
  bulkRepeats: number;
  singleJobs: number;
  deadRows: number[];
  claimSamples: number;
  memoryJobs: number;
  coldRttMs: number;
  /** Extra Sluice rows with non-default settings. */
  tuned: boolean;
  /** The "finished but not yet vacuumed" claim case: slow to set up, full runs only. */
  deletedRows: number;
  /** Jobs enqueued one at a time per system for enqueue-to-start latency (wake-latency). */
  wakeJobs: number;
  /** Due 5 ms jobs drained by ticks with and without fan-out (wake-backlog). */
  backlogJobs: number;
  /** Real ms standing for one minute's cron tick in the simulated idle hour (wake-idle). */
  idleTickMs: number;
  /** 5 ms jobs drained under a per-key concurrency limit, and the keys they are spread over (flow). */
  flowJobs: number;
  flowKeys: number;
  /** Events and invokes per latency row of the workflow scenario (a quarter as many ten-step workflows). */
  workflowSamples: number;
  /** The big-table scenario (run only when asked for: --scenarios=bigtable). */
  bigtable: BigtableSizes;
}

export interface BigtableSizes {
  /** Rows of the year-old table (BENCH_BIGTABLE_ROWS sets it; the skews scale with it). */
  rows: number;
  /** The skews, each alone beside a clean table: due jobs of undefined types, of a paused type, keys
   *  holding a rate-limit slot (one due job each), jobs scheduled up to a month ahead. */
  unknown: number;
  paused: number;
  rateKeys: number;
  scheduled: number;
  /** No-op jobs per drain, drains per table (the best is reported), claims and stats readings per table. */
  drainJobs: number;
  repeats: number;
  claimSamples: number;
  statsSamples: number;
  capMs: number;
}

const BIGTABLE_FULL: BigtableSizes = {
  rows: 10_000_000, unknown: 500_000, paused: 500_000, rateKeys: 50_000, scheduled: 1_000_000,
  drainJobs: 5_000, repeats: 3, claimSamples: 10, statsSamples: 3, capMs: 300_000,
};

/**
 * The sizes with the environment's applied: BENCH_BIGTABLE_ROWS makes the table that many rows, the skews
 * in proportion; BENCH_BIGTABLE_DRAIN_JOBS sets the jobs per drain.
 */
export function withEnv(sizes: Sizes, env = process.env): Sizes {
  const number = (name: string, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw.replaceAll('_', ''));
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number, at least ${min} (got ${raw})`);
    return n;
  };
  const b = sizes.bigtable;
  const rows = number('BENCH_BIGTABLE_ROWS', 1_000) ?? b.rows;
  const scale = (n: number) => Math.max(1, Math.round((n * rows) / b.rows));
  const bigtable = {
    ...b, rows, unknown: scale(b.unknown), paused: scale(b.paused), rateKeys: scale(b.rateKeys), scheduled: scale(b.scheduled),
    drainJobs: number('BENCH_BIGTABLE_DRAIN_JOBS', 100) ?? b.drainJobs,
  };
  return { ...sizes, bigtable };
}

/** A big-table run at the size, whose results are kept in bench/results. */
export const bigtableFullSize = (sizes: Sizes, quick: boolean) => !quick && sizes.bigtable.rows === BIGTABLE_FULL.rows;

export const FULL: Sizes = {
  drainJobs: 20_000, rtts: [5, 10, 20], repeats: 2, capMs: 60_000, bulkJobs: 20_000, bulkRepeats: 3, singleJobs: 1_000,
  deadRows: [1_000, 1_000_000], claimSamples: 50, memoryJobs: 100_000, coldRttMs: 20, tuned: true, deletedRows: 1_000_000,
  wakeJobs: 200, backlogJobs: 100_000, idleTickMs: 100, flowJobs: 20_000, flowKeys: 1_000, workflowSamples: 100,
  bigtable: BIGTABLE_FULL,
};

export const QUICK: Sizes = {
  drainJobs: 2_000, rtts: [10], repeats: 1, capMs: 15_000, bulkJobs: 5_000, bulkRepeats: 1, singleJobs: 200,
  deadRows: [1_000, 100_000], claimSamples: 20, memoryJobs: 20_000, coldRttMs: 20, tuned: false, deletedRows: 0,
  wakeJobs: 50, backlogJobs: 5_000, idleTickMs: 50, flowJobs: 2_000, flowKeys: 200, workflowSamples: 30,
  bigtable: {
    rows: 200_000, unknown: 10_000, paused: 10_000, rateKeys: 1_000, scheduled: 20_000,
    drainJobs: 2_000, repeats: 1, claimSamples: 5, statsSamples: 3, capMs: 60_000,
  },
};

export interface Relayed {
  at: Endpoints;
  stats(): RelayStats;
  close(): Promise<void>;
}

/**
 * Endpoints for `system` through a fresh latency relay of `rttMs` (counters start at zero), or the
 * direct ones when rttMs is null.
 */
export async function relayed(ctx: Context, system: InstalledSystem, rttMs: number | null): Promise<Relayed> {
  const none = { at: system.direct, stats: () => undefined as unknown as RelayStats, close: async () => {} };
  if (rttMs === null) return none;
  let relay: Relay;
  let at: Endpoints;
  if (system.direct.redis) {
    relay = await startRelay({ target: system.direct.redis, rttMs, protocol: 'redis' });
    at = { ...system.direct, redis: { host: '127.0.0.1', port: relay.port } };
  } else {
    relay = await startRelay({ target: { host: ctx.pg.host, port: ctx.pg.port }, rttMs, protocol: 'pg' });
    at = { ...system.direct, pgUrl: withPort(system.direct.pgUrl, relay.port) };
  }
  return { at, stats: relay.stats, close: relay.close };
}

export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
