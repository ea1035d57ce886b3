/**
 * What the bench needs of each queue. The parent process calls the setup side over direct
 * connections (so seeding never pays the relay's latency); a child process calls drain / enqueue
 * on `Endpoints` that may point through the latency relay.
 */

export interface Endpoints {
  /** Postgres URL of this system's database (maybe through the relay). */
  pgUrl: string;
  /** Redis (maybe through the relay); only BullMQ uses it. */
  redis?: { host: string; port: number };
}

export interface DrainResult {
  /** Jobs whose completion is persisted. */
  completed: number;
  /** Start of the system (connect/start) to the last completion persisted. */
  ms: number;
  /** Start to the first handler call: the part of `ms` that is start-up. */
  firstJobMs: number;
  capped: boolean;
  /** Anything else worth keeping (Sluice's drain summary). */
  extra?: unknown;
}

/** The child's side: runs one drain of `n` jobs, or enqueues, against `at`. */
export interface SystemWorker {
  drain(at: Endpoints, direct: Endpoints, n: number, capMs: number, options?: Record<string, unknown>): Promise<DrainResult>;
  /**
   * Builds `calls` batches of n payloads (payload(0) to payload(calls * n - 1)), then makes one bulk
   * call per batch, one after another in this process. Returns each call's ms.
   */
  enqueueBulk(at: Endpoints, n: number, calls: number): Promise<number[]>;
  /** Times n single enqueues, one after another. Returns ms. */
  enqueueSingle(at: Endpoints, n: number): Promise<number>;
}

/** The parent's side: install once, reset and seed between runs, over direct connections. */
export interface SystemSetup {
  install(): Promise<Endpoints>;
  /** Empties the queue (and vacuums, so every run starts from the same table state). */
  reset(): Promise<void>;
  seed(n: number): Promise<void>;
  /** Jobs not yet completed. */
  remaining(): Promise<number>;
  close(): Promise<void>;
}

export interface SystemInfo {
  name: string;
  /** npm package whose version is reported. */
  pkg: string;
  /** The settings its drain runs with, written into the results. */
  settings: Record<string, unknown>;
  /** Every system runs the same handler: no work, the payload is `{ i }`. */
}

/** The payload every system enqueues. */
export const payload = (i: number) => ({ i });

/** `calls` batches of n specs, built by `spec` from payload numbers that run on across the batches. */
export const batches = <T>(n: number, calls: number, spec: (i: number) => T): T[][] =>
  Array.from({ length: calls }, (_, call) => Array.from({ length: n }, (_, i) => spec(call * n + i)));

/** Makes `call` once per batch, one after another; returns the ms of each. */
export async function timedCalls<T>(all: T[][], call: (batch: T[]) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (const batch of all) ms.push(await timed(() => call(batch)));
  return ms;
}

/** Polls `remaining` until 0 or the deadline (performance.now() ms); returns whether it reached 0. */
export async function waitForZero(remaining: () => Promise<number>, deadline: number): Promise<boolean> {
  for (;;) {
    if ((await remaining()) === 0) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Called at the first handler call of a drain (the child uses it to tell the parent at once). */
export const hooks: { firstJob?: () => void } = {};

/**
 * Counts handler calls and resolves when `n` have run (or at `capMs`). Peers only say a job is
 * done once their completion write lands, which the caller then polls for over a direct connection.
 */
export function handlerCounter(n: number, capMs: number) {
  const start = performance.now();
  let handled = 0;
  let firstJobMs = 0;
  let resolve = () => {};
  const allHandled = new Promise<void>((r) => { resolve = r; });
  const cap = setTimeout(resolve, capMs);
  return {
    start,
    allHandled,
    handled: () => handled,
    firstJobMs: () => firstJobMs,
    elapsed: () => performance.now() - start,
    /** Call once per job from inside the handler. */
    hit() {
      if (handled++ === 0) { firstJobMs = performance.now() - start; hooks.firstJob?.(); }
      if (handled >= n) { clearTimeout(cap); resolve(); }
    },
    done() { clearTimeout(cap); },
  };
}

/**
 * After every handler ran: waits (over `remaining`, a direct connection) until every completion is
 * persisted, and reports the drain as finished at that moment.
 */
export async function settle(
  counter: ReturnType<typeof handlerCounter>, n: number, capMs: number, remaining: () => Promise<number>,
): Promise<DrainResult> {
  await counter.allHandled;
  const done = await waitForZero(remaining, counter.start + capMs + 5_000);
  const ms = counter.elapsed();
  const left = await remaining();
  return { completed: n - left, ms, firstJobMs: counter.firstJobMs(), capped: !done };
}

/** Milliseconds `fn` takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
