import { makeWorkerUtils, run, runMigrations, Logger, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { BenchPostgres } from '../services.js';
import { batches, handlerCounter, payload, settle, timed, timedCalls, type DrainResult, type Endpoints, type SystemInfo, type SystemSetup, type SystemWorker } from './types.js';

export const TASK = 'noop';
/**
 * The configuration graphile-worker's performance page benchmarks with
 * (https://worker.graphile.org/docs/performance): 24 concurrent jobs, a pool of 25, a local queue of
 * 500 jobs fetched (and locked) per query, and batched completion (completeJobBatchDelay 0 batches
 * every completion issued in the same tick).
 */
export const WORKER = {
  concurrentJobs: 24,
  maxPoolSize: 25,
  localQueue: { size: 500 },
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
};

export const info: SystemInfo = { name: 'graphile-worker', pkg: 'graphile-worker', settings: { preset: { worker: WORKER } } };

// Errors only: its info lines would land in the bench output.
export const logger = new Logger(() => (level: string, message: string) => { if (level === 'error') console.error(message); });

const spec = (i: number) => ({ identifier: TASK, payload: payload(i) });
const specs = (n: number) => Array.from({ length: n }, (_, i) => spec(i));

async function left(client: pg.Client) {
  const r = await client.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
  return r.rows[0]!.n;
}

const utils = (connectionString: string) => makeWorkerUtils({ connectionString, logger });

export function setup(pgServer: BenchPostgres, database = 'graphile'): SystemSetup {
  let u: WorkerUtils | undefined;
  let client: pg.Client | undefined;
  return {
    async install() {
      const url = await pgServer.createDatabase(database);
      await runMigrations({ connectionString: url, logger });
      u = await utils(url);
      client = new pg.Client({ connectionString: url });
      await client.connect();
      return { pgUrl: url };
    },
    async reset() {
      // Completed jobs are deleted by graphile-worker itself; this only clears a capped run's leftovers.
      await client!.query('delete from graphile_worker._private_jobs');
      await client!.query('vacuum analyze');
    },
    async seed(n) {
      for (let i = 0; i < n; i += 20_000) await u!.addJobs(specs(Math.min(20_000, n - i)));
      await client!.query('analyze');
    },
    remaining: () => left(client!),
    async close() {
      await u?.release();
      await client?.end();
    },
  };
}

/** Worker utils with their pool connected, so no timing includes the connection. */
async function connected(url: string) {
  const u = await utils(url);
  await u.withPgClient((c) => c.query('select 1'));
  return u;
}

/**
 * One drain of the task's n jobs, finished once every handler ran and `remaining` (asked over a direct
 * connection) says every completion is persisted (graphile-worker deletes a job when it completes).
 */
export async function drainUntil(at: Endpoints, direct: Endpoints, n: number, capMs: number, remaining: (check: pg.Client) => Promise<number>): Promise<DrainResult> {
  const counter = handlerCounter(n, capMs);
  const runner = await run({
    connectionString: at.pgUrl,
    noHandleSignals: true,
    logger,
    taskList: { [TASK]: async () => { counter.hit(); } },
    preset: { worker: WORKER },
  });
  const check = new pg.Client({ connectionString: direct.pgUrl });
  await check.connect();
  const result = await settle(counter, n, capMs, () => remaining(check));
  await check.end();
  await runner.stop();
  return result;
}

export const worker: SystemWorker = {
  drain: (at, direct, n, capMs) => drainUntil(at, direct, n, capMs, left),
  async enqueueBulk(at, n, calls) {
    const u = await connected(at.pgUrl);
    const ms = await timedCalls(batches(n, calls, spec), (batch) => u.addJobs(batch));
    await u.release();
    return ms;
  },
  async enqueueSingle(at, n) {
    const u = await connected(at.pgUrl);
    const ms = await timed(async () => { for (let i = 0; i < n; i++) await u.addJob(TASK, payload(i)); });
    await u.release();
    return ms;
  },
};
