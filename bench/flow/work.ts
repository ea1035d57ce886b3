/**
 * What every system's handler does in the flow scenario, and the keys the jobs are spread over. The
 * parent seeds with `flowKeys`; the child's handlers call `tracker.run(key)`, which sleeps JOB_MS and
 * counts handlers running at once, per key and in all.
 */

/** Simulated async work per job (the wake-backlog scenario's 5 ms). */
export const JOB_MS = 5;

/** Handlers running at once in every row: Sluice's drain concurrency, graphile's concurrentJobs, pg-boss's batch. */
export const FLOW_CONCURRENCY = 10;

/** The payload every system enqueues: its place in the seed order and its key. */
export interface FlowPayload { i: number; key: string }

/**
 * Job i's key: `jobs / keys` jobs per key (every key the same share), in a seeded shuffle, so every
 * system gets the same order and no key comes in a run of its own jobs (a limit would then starve
 * the claim of other keys: that is a different workload, one tenant's burst).
 */
export function flowKeys(jobs: number, keys: number): string[] {
  const out = Array.from({ length: jobs }, (_, i) => `k${i % keys}`);
  let seed = 0x5eed;
  const random = () => {
    // mulberry32: small, seeded, good enough to shuffle a benchmark's seed order
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const flowPayloads = (jobs: number, keys: number): FlowPayload[] => flowKeys(jobs, keys).map((key, i) => ({ i, key }));

export interface TrackerStats {
  /** Most handlers of one key running at once: at most the limit, when there is one. */
  maxPerKey: number;
  /** Most handlers running at once over every key. */
  peakRunning: number;
  /** Handler time over wall time: handlers busy on average (the concurrency is the most it can be). */
  avgRunning: number;
  /** Time with no handler running, from the first start to the last end: claims waited on, polls slept. */
  idleMs: number;
}

/** Runs the job's work and counts what runs at once; `onStart` is the drain's handler counter. */
export function startTracker(onStart: () => void) {
  const start = performance.now();
  const running = new Map<string, number>();
  let now = 0;
  let peak = 0;
  let maxPerKey = 0;
  let busyMs = 0;
  let idleMs = 0;
  let lastEnd: number | undefined; // when the running count last fell to zero
  return {
    async run(key: string): Promise<void> {
      const mine = (running.get(key) ?? 0) + 1;
      running.set(key, mine);
      maxPerKey = Math.max(maxPerKey, mine);
      if (now === 0 && lastEnd !== undefined) idleMs += performance.now() - lastEnd;
      peak = Math.max(peak, ++now);
      onStart();
      const t = performance.now();
      try {
        await new Promise<void>((resolve) => setTimeout(resolve, JOB_MS));
      } finally {
        busyMs += performance.now() - t;
        if (--now === 0) lastEnd = performance.now();
        const left = running.get(key)! - 1;
        if (left === 0) running.delete(key);
        else running.set(key, left);
      }
    },
    stats(): TrackerStats {
      const wall = performance.now() - start;
      return { maxPerKey, peakRunning: peak, avgRunning: Math.round((busyMs / wall) * 10) / 10, idleMs: Math.round(idleMs) };
    },
  };
}
