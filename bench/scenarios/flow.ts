import { fileURLToPath } from 'node:url';
import { relayed, round, type Context, type InstalledSystem } from '../context.js';
import { runChild } from '../fork.js';
import { flowSystems } from '../flow/systems.js';
import type { FlowExtra, FlowLimit, FlowModule, FlowSetup } from '../flow/types.js';
import { FLOW_CONCURRENCY, flowPayloads, JOB_MS, type FlowPayload } from '../flow/work.js';
import type { DrainResult } from '../systems/types.js';

const CHILD = fileURLToPath(new URL('../flow/child.ts', import.meta.url));
/** Over the drain scenario's cap: pg-boss's limited row takes about a minute at full size. */
const capMs = (ctx: Context) => ctx.sizes.capMs * 2;

export interface FlowRow {
  system: string;
  label: string;
  /** Most jobs of one key running at once; null: no limit. */
  limit: FlowLimit;
  jobs: number;
  completed: number;
  ms: number;
  jobsPerSec: number;
  capped: boolean;
  /** jobs/s over the same system's row without a limit: what the limit costs. */
  vsNoLimit?: number;
  /**
   * Observed in the handlers: most jobs of one key at once, most jobs at once, handlers busy on
   * average, and time with none running (first start to last end).
   */
  maxPerKey: number;
  peakRunning: number;
  avgRunning: number;
  idleMs: number;
  /** maxPerKey <= limit; null without a limit. */
  limitHeld: boolean | null;
  /** Counted by a 0 ms relay. */
  statements: number;
  statementsPerJob: number;
  turnsPerJob: number;
  /** Sluice: its claims (see FlowExtra) and its drain's summary. */
  claims?: FlowExtra['claims'];
  summary?: unknown;
}

export interface Flow {
  jobs: number;
  keys: number;
  jobMs: number;
  concurrency: number;
  rows: FlowRow[];
  /** What each system's flow drains ran with (its drain rows' settings are under Results.settings). */
  settings: Record<string, Record<string, unknown>>;
  /** Sluice with a limit of 1 per key over each peer's equivalent, jobs/s. */
  limit1VsPeers: Record<string, number>;
}

interface FlowSystem { system: InstalledSystem; module: FlowModule; setup: FlowSetup }

/**
 * One drain of the seeded keyed jobs in a process of its own (flow/child.ts), through a 0 ms counting
 * relay: at a few thousand 5 ms jobs/s its CPU is no concern, and every row gets statements per job.
 */
async function flowOnce(ctx: Context, s: FlowSystem, payloads: FlowPayload[], limit: FlowLimit): Promise<FlowRow> {
  await s.setup.reset();
  await s.setup.seed(payloads, limit);
  const relay = await relayed(ctx, s.system, 0);
  try {
    const n = payloads.length;
    const task = { kind: 'drain' as const, system: s.system.name, at: relay.at, direct: s.system.direct, n, capMs: capMs(ctx), options: { limit } };
    const r = (await runChild<DrainResult & { extra: FlowExtra }>(task, undefined, false, CHILD)).result;
    const stats = relay.stats();
    const left = await s.setup.remaining();
    if (left > 0 && !r.capped) ctx.log(`  ! ${s.system.name}: ${left} jobs left after a drain that said it finished`);
    const t = r.extra.tracker;
    const row: FlowRow = {
      system: s.system.name, label: s.module.label(limit), limit, jobs: n, completed: r.completed, ms: round(r.ms),
      jobsPerSec: Math.round((r.completed / r.ms) * 1000), capped: r.capped,
      maxPerKey: t.maxPerKey, peakRunning: t.peakRunning, avgRunning: t.avgRunning, idleMs: t.idleMs,
      limitHeld: limit === null ? null : t.maxPerKey <= limit,
      statements: stats.statements,
      statementsPerJob: round(stats.statements / Math.max(1, r.completed), 4),
      turnsPerJob: round(stats.turns / Math.max(1, r.completed), 4),
      ...(r.extra.claims ? { claims: { ...r.extra.claims, ms: Math.round(r.extra.claims.ms) } } : {}),
      ...(r.extra.summary ? { summary: r.extra.summary } : {}),
    };
    if (row.limitHeld === false) ctx.log(`  ! ${row.label}: ${t.maxPerKey} jobs of one key ran at once, over the limit of ${limit}`);
    const c = row.claims;
    const claims = c ? `, ${c.count} claims of ${round(c.jobs / Math.max(1, c.count))} jobs in ${c.ms} ms (${c.heldBack} held back)` : '';
    ctx.log(`  ${row.label}: ${row.jobsPerSec} jobs/s (${row.completed}/${n} in ${Math.round(row.ms)} ms${row.capped ? ', CAPPED' : ''}), max ${t.maxPerKey} per key, ${t.avgRunning} busy on average, ${t.idleMs} ms with none running, ${row.statementsPerJob} statements/job${claims}`);
    return row;
  } finally {
    await relay.close();
  }
}

/**
 * A drain with a per-key concurrency limit over many keys: `flowJobs` jobs of JOB_MS ms spread evenly
 * over `flowKeys` keys (shuffled), drained by one process running FLOW_CONCURRENCY at once. Sluice
 * without a limit, with 2 and with 1 per key; each peer without and with its equivalent of a limit
 * of 1. One drain per row, not the best of `repeats`: pg-boss's limited row alone takes about a
 * minute at full size, and a row moved by about 10 % between our runs, less than the gaps it shows.
 */
export async function flow(ctx: Context): Promise<Flow> {
  const { flowJobs: jobs, flowKeys: keys } = ctx.sizes;
  const payloads = flowPayloads(jobs, keys);
  const rows: FlowRow[] = [];
  const settings: Flow['settings'] = {};
  ctx.log(`flow: ${jobs.toLocaleString('en')} jobs of ${JOB_MS} ms over ${keys.toLocaleString('en')} keys, ${FLOW_CONCURRENCY} at once`);
  for (const system of ctx.systems) {
    const load = flowSystems[system.name];
    if (!load) continue;
    const module = await load();
    settings[system.name] = module.settings;
    const s = { system, module, setup: await module.setup(system.direct) };
    try {
      for (const limit of module.limits) rows.push(await flowOnce(ctx, s, payloads, limit));
    } finally {
      await s.setup.close().catch(() => {});
    }
  }
  for (const row of rows) {
    const free = rows.find((r) => r.system === row.system && r.limit === null);
    if (free && row.limit !== null) row.vsNoLimit = round(row.jobsPerSec / free.jobsPerSec, 2);
  }
  const one = rows.find((r) => r.system === 'sluice' && r.limit === 1);
  const limit1VsPeers: Record<string, number> = {};
  for (const peer of rows.filter((r) => r.system !== 'sluice' && r.limit === 1)) {
    if (one) limit1VsPeers[peer.system] = round(one.jobsPerSec / peer.jobsPerSec, 2);
  }
  return { jobs, keys, jobMs: JOB_MS, concurrency: FLOW_CONCURRENCY, rows, settings, limit1VsPeers };
}
