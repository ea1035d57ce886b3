import type { Db } from './db.js';
import { addHistograms, percentile } from './history.js';
import { historySince, samplesSince } from './queries-history.js';

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
  /** The depth samples (the cron tick's, once a minute); a minute without one is absent. */
  depth: { t: number[]; pending: number[]; due: number[]; running: number[]; dead: number[]; oldestDueMs: number[] };
  /** What drains did, every minute of the range (0 where nothing ran), in all and per type. */
  throughput: { t: number[]; total: Counts; byType: Record<string, Counts> };
  times: TypeTimes[];
}

const zeros = (n: number): Counts => ({ completed: new Array<number>(n).fill(0), retried: new Array<number>(n).fill(0), dead: new Array<number>(n).fill(0), rescued: new Array<number>(n).fill(0) });

/** The last `rangeMs` of history: two statements (samples, per-minute counters), run at once. */
export async function queueHistory(db: Db, rangeMs: number, now = Date.now()): Promise<QueueHistory> {
  const [samples, minutes] = await Promise.all([samplesSince(db, rangeMs), historySince(db, rangeMs)]);
  const depth: QueueHistory['depth'] = { t: [], pending: [], due: [], running: [], dead: [], oldestDueMs: [] };
  for (const s of samples) {
    depth.t.push(s.t);
    depth.pending.push(s.pending);
    depth.due.push(s.due);
    depth.running.push(s.running);
    depth.dead.push(s.dead);
    depth.oldestDueMs.push(Math.round(s.oldest_due_ms));
  }
  // Every minute of the range, so a quiet minute shows as 0, not as a line drawn across it.
  const last = Math.floor(now / 60_000) * 60;
  const first = last - Math.ceil(rangeMs / 60_000) * 60 + 60;
  const t = Array.from({ length: (last - first) / 60 + 1 }, (_, i) => first + i * 60);
  const total = zeros(t.length);
  const byType: Record<string, Counts> = Object.create(null);
  const hists = new Map<string, { run: number[]; lag: number[] }>();
  for (const m of minutes) {
    const i = Math.round((m.t - first) / 60);
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
  return { depth, throughput: { t, total, byType }, times };
}
