/**
 * The queue's history (issue 12): per minute and job type, what drains did, with run times and lags
 * as small histograms. A drain pass adds up its own outcomes here and hands the sums to the statement
 * that writes those outcomes (queries-history.ts), so history costs no statement of its own.
 */

/** Upper bounds (ms) of the histograms' buckets; one more bucket holds everything longer. */
export const HISTORY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000] as const;
const BUCKETS = HISTORY_BUCKETS_MS.length + 1;

/** A type's sums since the last write. */
export interface HistoryRow {
  type: string;
  completed: number;
  retried: number;
  dead: number;
  /** Expired leases settled (counted in retried or dead too). */
  rescued: number;
  /** Runs by run time, per bucket of HISTORY_BUCKETS_MS. */
  run: number[];
  /** Runs by lag (due to claimed), per bucket. */
  lag: number[];
}

export function bucketOf(ms: number): number {
  for (let i = 0; i < HISTORY_BUCKETS_MS.length; i++) if (ms <= HISTORY_BUCKETS_MS[i]!) return i;
  return HISTORY_BUCKETS_MS.length;
}

/** A cancelled run counts as a run (its time), in none of the sums. */
type Kind = 'done' | 'retry' | 'dead' | 'release' | 'cancelled' | 'waiting';

/** One pass's sums by type, taken by each statement that writes outcomes. */
export class HistoryBatch {
  private byType = new Map<string, HistoryRow>();

  private row(type: string): HistoryRow {
    let row = this.byType.get(type);
    if (!row) {
      row = { type, completed: 0, retried: 0, dead: 0, rescued: 0, run: new Array<number>(BUCKETS).fill(0), lag: new Array<number>(BUCKETS).fill(0) };
      this.byType.set(type, row);
    }
    return row;
  }

  /** A run's outcome. A release (a sleep, a hand-back) is no run's end: it is not counted. */
  ran(type: string, kind: Kind, runMs: number, lagMs: number | undefined): void {
    if (kind === 'release' || kind === 'waiting') return; // given back, not ended: the run is counted when it ends
    const row = this.row(type);
    this.count(row, kind);
    row.run[bucketOf(runMs)]!++;
    if (lagMs !== undefined) row.lag[bucketOf(lagMs)]!++;
  }

  /** An expired lease settled by this pass (its run ended elsewhere, unseen). */
  rescued(type: string, kind: Kind): void {
    const row = this.row(type);
    row.rescued++;
    this.count(row, kind);
  }

  private count(row: HistoryRow, kind: Kind): void {
    if (kind === 'done') row.completed++;
    else if (kind === 'retry') row.retried++;
    else if (kind === 'dead') row.dead++;
  }

  /** The sums so far, in type order (so concurrent drains lock history rows in one order), and a fresh start. */
  take(): HistoryRow[] {
    if (this.byType.size === 0) return [];
    const rows = [...this.byType.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
    this.byType = new Map();
    return rows;
  }

  /** Puts back sums whose statement failed (it goes again with the next one). */
  restore(rows: HistoryRow[]): void {
    for (const r of rows) {
      const row = this.row(r.type);
      row.completed += r.completed;
      row.retried += r.retried;
      row.dead += r.dead;
      row.rescued += r.rescued;
      r.run.forEach((n, i) => (row.run[i]! += n));
      r.lag.forEach((n, i) => (row.lag[i]! += n));
    }
  }
}

/**
 * The q-quantile (0..1) of a histogram, in ms, interpolated linearly inside its bucket; null for an
 * empty one. The last bucket has no upper bound: a quantile there is reported as its lower bound.
 */
export function percentile(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const n = hist[i]!;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : HISTORY_BUCKETS_MS[i - 1]!;
      const upper = HISTORY_BUCKETS_MS[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * Math.max(0, rank - seen)) / n;
    }
    seen += n;
  }
  return HISTORY_BUCKETS_MS[HISTORY_BUCKETS_MS.length - 1]!;
}

/** Element-wise sum of histograms (rows of one type over many minutes). */
export function addHistograms(into: number[], add: readonly number[]): number[] {
  add.forEach((n, i) => (into[i] = (into[i] ?? 0) + n));
  return into;
}
