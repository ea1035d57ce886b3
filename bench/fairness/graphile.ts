import { Logger, makeWorkerUtils, run, type AddJobsJobSpec } from 'graphile-worker';
import pg from 'pg';
import { flow } from '../flow/graphile.js';
import { WORKER } from '../systems/graphile.js';
import { settle } from '../systems/types.js';
import { FAIRNESS_CONCURRENCY, type FairnessModule, type FairnessPayload } from './work.js';

const TASK = 'fairness';
/**
 * The plain row: the drain rows' settings (graphile's performance page) with the scenario's concurrency.
 * The named-queue row: graphile's defaults (no local queue, no batched completion) with the same
 * concurrency and pool. A named queue stays locked until its job's completion is written, and a worker
 * asks for its next job without waiting for that write, finds the queue locked, and sleeps until its
 * poll (pollInterval, 2 s): a backlog in one named queue runs a few jobs a second, about one a second
 * with the local queue and batched completion.
 */
const FAIR_WORKER: Record<string, Partial<typeof WORKER>> = {
  plain: { ...WORKER, concurrentJobs: FAIRNESS_CONCURRENCY },
  queues: { concurrentJobs: FAIRNESS_CONCURRENCY, maxPoolSize: WORKER.maxPoolSize },
};

const logger = new Logger(() => (level: string, message: string) => { if (level === 'error') console.error(message); });

async function left(client: pg.Client) {
  const r = await client.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
  return r.rows[0]!.n;
}

/**
 * graphile-worker has no fairness across keys. A named queue (queueName) runs its jobs one at a time,
 * in order: a queue per tenant keeps the small tenant from waiting behind the big one's backlog, but
 * runs each tenant's jobs one after another, so it is a per-tenant limit of 1 more than fairness; and a
 * backlog in one named queue runs a few jobs a second (see FAIR_WORKER).
 */
const spec = (mode: string) => (p: FairnessPayload): AddJobsJobSpec => ({ identifier: TASK, payload: p, ...(mode === 'queues' ? { queueName: p.tenant } : {}) });

const utils = async (url: string) => {
  const u = await makeWorkerUtils({ connectionString: url, logger });
  await u.withPgClient((c) => c.query('select 1')); // connected before anything is timed
  return u;
};

export const fairness: FairnessModule = {
  modes: ['plain', 'queues'],
  crawls: ['queues'],
  label: (mode) => (mode === 'queues' ? 'graphile-worker, queueName = tenant' : 'graphile-worker, no queue name'),
  settings: { preset: FAIR_WORKER, queues: 'queueName = payload.tenant' },
  async setup(direct) {
    // The flow scenario's setup empties graphile's jobs and named queues, counts what is left, and closes.
    const base = await flow.setup(direct);
    const u = await utils(direct.pgUrl);
    return {
      reset: base.reset,
      async seed(payloads, mode) {
        for (let i = 0; i < payloads.length; i += 20_000) await u.addJobs(payloads.slice(i, i + 20_000).map(spec(mode)));
        await u.withPgClient((c) => c.query('analyze'));
      },
      remaining: base.remaining,
      async close() {
        await u.release();
        await base.close();
      },
    };
  },
  async worker(at, direct, mode) {
    const sender = await utils(direct.pgUrl);
    return {
      async work(handler, counter, n, capMs) {
        const runner = await run({
          connectionString: at.pgUrl,
          noHandleSignals: true,
          logger,
          taskList: { [TASK]: async (p) => handler(p as FairnessPayload) },
          preset: { worker: FAIR_WORKER[mode] },
        });
        const check = new pg.Client({ connectionString: direct.pgUrl });
        await check.connect();
        try {
          return await settle(counter, n, capMs, () => left(check));
        } finally {
          await check.end();
          await runner.stop();
        }
      },
      enqueueSmall: (payloads) => sender.addJobs(payloads.map(spec(mode))),
      close: async () => { await sender.release(); },
    };
  },
};
