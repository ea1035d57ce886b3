import pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { BenchPostgres } from '../services.js';
import { batches, handlerCounter, payload, settle, timed, timedCalls, type DrainResult, type Endpoints, type SystemInfo, type SystemSetup, type SystemWorker } from './types.js';

export const QUEUE = 'noop';
/**
 * Throughput settings. pg-boss's fastest path is a batch handler: one fetch claims `batchSize` jobs and
 * one statement completes them all. burstWhenBatchFull (12.x) refetches at once while batches come back
 * full instead of sleeping pollingIntervalSeconds; localConcurrency runs several fetch loops at once.
 * Maintenance and cron are off in the draining process: deployments run them elsewhere.
 */
export const WORK = { batchSize: 200, localConcurrency: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 };
const BOSS = { max: 10, supervise: false, schedule: false, migrate: false, registerInstance: false };

export const info: SystemInfo = { name: 'pg-boss', pkg: 'pg-boss', settings: { work: WORK, constructor: BOSS, handler: 'batch' } };

const job = (i: number) => ({ data: payload(i) });
const jobs = (n: number) => Array.from({ length: n }, (_, i) => job(i));

/** Jobs of the queue not completed yet. pg-boss keeps completed rows (deleteAfterSeconds, 7 days). */
async function notCompleted(client: pg.Client | pg.Pool) {
  const r = await client.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = $1 and state <> 'completed'`, [QUEUE]);
  return r.rows[0]!.n;
}

const quiet = (boss: PgBoss) => boss.on('error', (e) => console.error('pg-boss error:', e.message));

export function setup(pgServer: BenchPostgres, database = 'pgboss'): SystemSetup {
  let boss: PgBoss | undefined;
  let client: pg.Client | undefined;
  return {
    async install() {
      const url = await pgServer.createDatabase(database);
      boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
      quiet(boss);
      await boss.start(); // installs the schema
      await boss.createQueue(QUEUE);
      client = new pg.Client({ connectionString: url });
      await client.connect();
      return { pgUrl: url };
    },
    async reset() {
      await boss!.deleteAllJobs(QUEUE);
      await client!.query('vacuum analyze');
    },
    async seed(n) {
      for (let i = 0; i < n; i += 20_000) await boss!.insert(QUEUE, jobs(Math.min(20_000, n - i)));
      await client!.query('analyze');
    },
    remaining: () => notCompleted(client!),
    async close() {
      await boss?.stop({ graceful: false });
      await client?.end();
    },
  };
}

/** A pg-boss instance for the child's work: no maintenance, no migration, no registry row. */
export async function started(url: string) {
  const boss = new PgBoss({ connectionString: url, ...BOSS });
  quiet(boss);
  return boss.start();
}

/**
 * One drain of the queue's n jobs, finished once every handler ran and `remaining` (asked over a direct
 * connection) says every completion is persisted.
 */
export async function drainUntil(at: Endpoints, direct: Endpoints, n: number, capMs: number, remaining: (check: pg.Client) => Promise<number>): Promise<DrainResult> {
  const counter = handlerCounter(n, capMs);
  const boss = await started(at.pgUrl);
  await boss.work<{ i: number }>(QUEUE, WORK, async (batch) => { for (const _ of batch) counter.hit(); });
  const check = new pg.Client({ connectionString: direct.pgUrl });
  await check.connect();
  const result = await settle(counter, n, capMs, () => remaining(check));
  await check.end();
  await boss.stop({ graceful: false, timeout: 1_000 });
  return result;
}

export const worker: SystemWorker = {
  drain: (at, direct, n, capMs) => drainUntil(at, direct, n, capMs, notCompleted),
  async enqueueBulk(at, n, calls) {
    const boss = await started(at.pgUrl);
    const ms = await timedCalls(batches(n, calls, job), (batch) => boss.insert(QUEUE, batch));
    await boss.stop({ graceful: false, timeout: 1_000 });
    return ms;
  },
  async enqueueSingle(at, n) {
    const boss = await started(at.pgUrl);
    const ms = await timed(async () => { for (let i = 0; i < n; i++) await boss.send(QUEUE, payload(i)); });
    await boss.stop({ graceful: false, timeout: 1_000 });
    return ms;
  },
};
