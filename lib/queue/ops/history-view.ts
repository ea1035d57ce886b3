import type { AppScope } from '../app.js';
import type { Db } from '../db.js';
import { addHistograms, percentile } from '../housekeeping/history.js';
import { historySince, samplesSince } from '../housekeeping/queries-history.js';

type Counts = { completed: number[]; retried: number[]; dead: number[]; rescued: number[] };

/** Run-time and lag percentiles of a type over a range, in ms (null: no runs). */
export interface TypeTimes {
  type: string;
  runs: number;
  runP50: number | null;
  runP90: number | null;
  runP99: number | null;
  lagP50: number | null;
  lagP90: number | null;
  lagP99: number | null;
}

/** The queue's history over a range, as series for charts (`t`: epoch seconds, uPlot's x axis). */
export interface QueueHistory {
  /** Seconds per point: 60, or more for long ranges (queueHistory's `stepSeconds`). */
  step: number;
  /** The depth samples (the cron tick's, once a minute), at most one per step: each series' peak in
   *  it. A step without a sample is absent (idle ticks skip the database). */
  depth: { t: number[]; pending: number[]; due: number[]; running: number[]; dead: number[]; oldestDueMs: number[] };
  /** What drains did, every step of the range (0 where nothing ran), summed per step, in all and per type. */
  throughput: { t: number[]; total: Counts; byType: Record<string, Counts> };
  times: TypeTimes[];
}

const DEPTH_SERIES = ['pending', 'due', 'running', 'dead', 'oldestDueMs'] as const;

const zeros = (n: number): Counts => ({ completed: new Array<number>(n).fill(0), retried: new Array<number>(n).fill(0), dead: new Array<number>(n).fill(0), rescued: new Array<number>(n).fill(0) });

/**
 * The last `rangeMs` of history, a point every `stepSeconds` (a multiple of 60: a week of minutes is
 * 10,080 points a series, more than a chart needs), of one app (its samples and its types' counters;
 * no scope: the whole database's). Two statements (samples, counters), run at once.
 */
export async function queueHistory(db: Db, rangeMs: number, stepSeconds = 60, scope?: AppScope, now = Date.now()): Promise<QueueHistory> {
  const step = Math.max(60, Math.round(stepSeconds / 60) * 60);
  const [samples, minutes] = await Promise.all([samplesSince(db, scope?.app ?? null, rangeMs), historySince(db, scope?.types ?? null, rangeMs)]);
  const depth: QueueHistory['depth'] = { t: [], pending: [], due: [], running: [], dead: [], oldestDueMs: [] };
  for (const s of samples) {
    const at = Math.floor(s.t / step) * step;
    const point = { pending: s.pending, due: s.due, running: s.running, dead: s.dead, oldestDueMs: Math.round(s.oldest_due_ms) };
    const n = depth.t.length - 1;
    const sameStep = n >= 0 && depth.t[n] === at;
    if (!sameStep) depth.t.push(at);
    for (const key of DEPTH_SERIES) {
      if (sameStep) depth[key][n] = Math.max(depth[key][n]!, point[key]);
      else depth[key].push(point[key]);
    }
  }
  // Every step of the range, so a quiet one shows as 0, not as a line drawn across it.
  const last = Math.floor(now / 1000 / step) * step;
  const first = last - Math.ceil(rangeMs / 1000 / step) * step + step;
  const t = Array.from({ length: (last - first) / step + 1 }, (_, i) => first + i * step);
  const total = zeros(t.length);
  const byType: Record<string, Counts> = Object.create(null);
  const hists = new Map<string, { run: number[]; lag: number[] }>();
  for (const m of minutes) {
    const i = Math.floor((m.t - first) / step);
    if (i < 0 || i >= t.length) continue;
    const forType = (byType[m.type] ??= zeros(t.length));
    for (const key of ['completed', 'retried', 'dead', 'rescued'] as const) {
      forType[key][i]! += m[key];
      total[key][i]! += m[key];
    }
    const h = hists.get(m.type) ?? { run: [], lag: [] };
    hists.set(m.type, { run: addHistograms(h.run, m.run_hist), lag: addHistograms(h.lag, m.lag_hist) });
  }
  const times = [...hists.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, { run, lag }]) => ({
    type,
    runs: run.reduce((a, b) => a + b, 0),
    runP50: percentile(run, 0.5), runP90: percentile(run, 0.9), runP99: percentile(run, 0.99),
    lagP50: percentile(lag, 0.5), lagP90: percentile(lag, 0.9), lagP99: percentile(lag, 0.99),
  }));
  return { step, depth, throughput: { t, total, byType }, times };
}
