/**
 * The fairness scenario's shared part: the two tenants' jobs, the sizes, and the measurement every
 * system's child runs. One tenant ("big") has a backlog; once the worker has started `smallAfter` of
 * its jobs, another tenant ("small") enqueues a few. The recorder notes, in the handlers, when each job
 * starts and ends, so every system is timed by the same clock in the same place.
 */
import { handlerCounter, type DrainResult, type Endpoints } from '../systems/types.js';

/** Simulated async work per job: small, so a backlog of thousands takes seconds, not minutes. */
export const JOB_MS = 2;
/** Handlers running at once in every row: Sluice's drain concurrency, graphile's concurrentJobs, pg-boss's batches. */
export const FAIRNESS_CONCURRENCY = 10;

export type Tenant = 'big' | 'small';
export interface FairnessPayload { tenant: Tenant; i: number }

export const tenantPayloads = (tenant: Tenant, n: number): FairnessPayload[] => Array.from({ length: n }, (_, i) => ({ tenant, i }));

export interface FairnessSizes {
  /** The big tenant's backlog, enqueued before the worker starts. */
  big: number;
  /** The small tenant's jobs. */
  small: number;
  /** Big jobs started when the small tenant's are enqueued; 0: enqueued right after the backlog, before the worker starts. */
  smallAfter: number;
}

const envInt = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${name} must be a whole number, got "${raw}"`);
  return n;
};

/**
 * BENCH_FAIRNESS_BIG (default 10,000; 2,000 with --quick) and BENCH_FAIRNESS_AFTER (default a tenth
 * of the backlog) override the sizes.
 */
export function fairnessSizes(quick: boolean): FairnessSizes {
  const big = envInt('BENCH_FAIRNESS_BIG') ?? (quick ? 2_000 : 10_000);
  if (big < 1) throw new TypeError('BENCH_FAIRNESS_BIG must be at least 1');
  const smallAfter = envInt('BENCH_FAIRNESS_AFTER') ?? Math.floor(big / 10);
  if (smallAfter >= big) throw new TypeError(`BENCH_FAIRNESS_AFTER (${smallAfter}) must be under the backlog (${big})`);
  return { big, small: 30, smallAfter };
}

/**
 * What the parent tells the child (the drain task's options). With `arriveAfterMs` the small tenant
 * arrives that long after the worker starts instead of after `smallAfter` big jobs: for a row whose
 * backlog runs a few jobs a second.
 */
export interface FairnessOptions extends FairnessSizes { mode: string; arriveAfterMs?: number }

export interface FairnessStats {
  /** Jobs started when the small tenant's enqueue was sent. */
  startedAtArrival: number;
  /** The small tenant's jobs that started (all of them unless the drain was capped). */
  smallStarted: number;
  /** The small tenant's enqueue call, sent to resolved. */
  enqueueMs: number;
  /** From the small tenant's enqueue resolving to its first job's start, its last job's start and end. */
  firstStartMs: number;
  lastStartMs: number;
  lastEndMs: number;
  /** The small tenant's last job's place in the start order of every job (1-based). */
  position: number;
  /** Big jobs started after the small tenant's enqueue was sent and before its last job started. */
  bigAhead: number;
  /** Most handlers running at once, and handler time over wall time. */
  peakRunning: number;
  avgRunning: number;
}

/**
 * Counts and times the handlers: `run(payload)` sleeps JOB_MS; the big job numbered `smallAfter`
 * sends the small tenant's enqueue (not awaited: the handler runs on), unless `arrive()` sends it at
 * another moment (before the worker starts, or at `arriveAfterMs`).
 */
function startRecorder(o: FairnessOptions, onStart: () => void, enqueueSmall: (payloads: FairnessPayload[]) => Promise<unknown>) {
  const begun = performance.now();
  let started = 0;
  let bigStarted = 0;
  let running = 0;
  let peak = 0;
  let busyMs = 0;
  let atArrival = 0;
  let sentAt = 0;
  let doneAt = 0;
  let lastSmallPosition = 0;
  const smallStarts: number[] = [];
  const smallEnds: number[] = [];
  let arrival: Promise<void> | undefined;
  const arrive = () => (arrival ??= (async () => {
    atArrival = started;
    sentAt = performance.now();
    await enqueueSmall(tenantPayloads('small', o.small));
    doneAt = performance.now();
  })());
  return {
    arrive,
    async run(p: FairnessPayload): Promise<void> {
      started++;
      if (p.tenant === 'small') {
        smallStarts.push(performance.now());
        lastSmallPosition = started;
      } else if (++bigStarted === o.smallAfter && o.arriveAfterMs === undefined) {
        arrive().catch(() => {}); // a failure surfaces in stats(), which awaits the same promise
      }
      peak = Math.max(peak, ++running);
      onStart();
      const t = performance.now();
      try {
        await new Promise<void>((resolve) => setTimeout(resolve, JOB_MS));
      } finally {
        const end = performance.now();
        busyMs += end - t;
        running--;
        if (p.tenant === 'small') smallEnds.push(end);
      }
    },
    async stats(): Promise<FairnessStats> {
      await arrival;
      const since = (t: number) => Math.round((t - doneAt) * 10) / 10;
      const none = smallStarts.length === 0;
      return {
        startedAtArrival: atArrival,
        smallStarted: smallStarts.length,
        enqueueMs: Math.round((doneAt - sentAt) * 10) / 10,
        firstStartMs: none ? NaN : since(Math.min(...smallStarts)),
        lastStartMs: none ? NaN : since(Math.max(...smallStarts)),
        lastEndMs: smallEnds.length === 0 ? NaN : since(Math.max(...smallEnds)),
        position: lastSmallPosition,
        bigAhead: Math.max(0, lastSmallPosition - atArrival - smallStarts.length),
        peakRunning: peak,
        avgRunning: Math.round((busyMs / (performance.now() - begun)) * 10) / 10,
      };
    },
  };
}

/** A system's worker for one mode, as the child drives it. */
export interface FairnessWorker {
  /** Works the n jobs with `handler` until every completion is stored (peers: `settle` on the counter) or capMs. */
  work(handler: (p: FairnessPayload) => Promise<void>, counter: ReturnType<typeof handlerCounter>, n: number, capMs: number): Promise<{ completed: number; capped: boolean }>;
  /** Enqueues the small tenant's jobs over a connection of its own, as another app would. */
  enqueueSmall(payloads: FairnessPayload[]): Promise<unknown>;
  close(): Promise<void>;
}

export type FairnessResult = DrainResult & { extra: FairnessStats };

/** One measured drain: the small tenant arrives as `o` says while `worker` works through the backlog. */
export async function measure(o: FairnessOptions, n: number, capMs: number, worker: FairnessWorker): Promise<FairnessResult> {
  let counter: ReturnType<typeof handlerCounter> | undefined;
  const recorder = startRecorder(o, () => counter!.hit(), (payloads) => worker.enqueueSmall(payloads));
  try {
    if (o.smallAfter === 0) await recorder.arrive();
    counter = handlerCounter(n, capMs); // the drain's clock starts with the worker
    const timer = o.arriveAfterMs === undefined ? undefined : setTimeout(() => recorder.arrive().catch(() => {}), o.arriveAfterMs);
    const { completed, capped } = await worker.work((p) => recorder.run(p), counter, n, capMs);
    const ms = counter.elapsed();
    counter.done();
    clearTimeout(timer);
    return { completed, ms, firstJobMs: counter.firstJobMs(), capped, extra: await recorder.stats() };
  } finally {
    await worker.close();
  }
}

/** A system's part in the fairness scenario, beside its systems/*.ts. */
export interface FairnessModule {
  /** Its rows, each a way to run the two tenants' jobs (plain first). */
  modes: readonly string[];
  /**
   * Modes whose backlog runs a few jobs a second: run to a short cap, enough to time the small tenant
   * (who arrives a few seconds in rather than after `smallAfter` big jobs), not to drain the backlog.
   */
  crawls?: readonly string[];
  /** How a mode's row is labelled in the report: the system and how tenants share its workers. */
  label(mode: string): string;
  /** The settings its workers run with, written into the results. */
  settings: Record<string, unknown>;
  setup(direct: Endpoints): Promise<FairnessSetup>;
  /** The child's side: a worker for `mode` on `at`, its small-tenant enqueue on `direct`. */
  worker(at: Endpoints, direct: Endpoints, mode: string): Promise<FairnessWorker>;
}

/** The parent's side, over the system's direct connection. */
export interface FairnessSetup {
  /** Empties the scenario's jobs, and vacuums. */
  reset(): Promise<void>;
  /** Enqueues the big tenant's backlog as `mode` needs it. */
  seed(payloads: FairnessPayload[], mode: string): Promise<void>;
  /** Jobs not yet completed. */
  remaining(): Promise<number>;
  close(): Promise<void>;
}
