/** Timing helpers shared by the wake scenarios. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Handler starts by key: a handler (or the webhook receiver) calls hit(key) when it starts; the
 * measuring side waits for that key. A hit before the wait is kept, so no start is ever missed.
 */
export function startClock() {
  const seen = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  return {
    hit(key: string, at = performance.now()) {
      const waiter = waiting.get(key);
      if (waiter) { waiting.delete(key); waiter(at); } else seen.set(key, at);
    },
    wait(key: string, timeoutMs = 15_000): Promise<number> {
      const at = seen.get(key);
      if (at !== undefined) { seen.delete(key); return Promise.resolve(at); }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(key); reject(new Error(`job ${key} did not start within ${timeoutMs} ms`)); }, timeoutMs);
        waiting.set(key, (t) => { clearTimeout(timer); resolve(t); });
      });
    },
  };
}

export type Clock = ReturnType<typeof startClock>;

/**
 * Enqueues one job at a time: the time from just before `send(i)` to its handler's start, then a gap
 * (and `settle`, e.g. until the job is gone) before the next, so each job meets an idle queue. A gap
 * of `gapMs` plus up to `jitterMs` at random makes jobs arrive at random phases of a polling worker's
 * loop (a fixed gap would lock onto it). The first `warmup` jobs (connections, JIT) are not returned.
 */
export async function oneAtATime(
  o: { n: number; warmup: number; gapMs: number; jitterMs?: number; clock: Clock; key: (i: number) => string },
  send: (i: number) => Promise<unknown>,
  settle?: () => Promise<void>,
  onStart?: (i: number, startedAt: number) => void,
): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < o.n + o.warmup; i++) {
    const before = performance.now();
    await send(i);
    const started = await o.clock.wait(o.key(i));
    onStart?.(i, started);
    if (i >= o.warmup) ms.push(started - before);
    await sleep(o.gapMs + Math.random() * (o.jitterMs ?? 0));
    await settle?.();
  }
  return ms;
}

export interface Percentiles {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Nearest-rank percentiles of `ms`. */
export function percentiles(ms: number[]): Percentiles {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    samples: sorted.length,
    p50Ms: r1(at(50)), p95Ms: r1(at(95)), p99Ms: r1(at(99)), maxMs: r1(sorted.at(-1)!),
    meanMs: r1(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}
