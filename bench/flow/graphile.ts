import { Logger, makeWorkerUtils, run, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { WORKER } from '../systems/graphile.js';
import { handlerCounter, settle } from '../systems/types.js';
import type { FlowModule } from './types.js';
import { FLOW_CONCURRENCY, startTracker, type FlowPayload } from './work.js';

const TASK = 'flow';
/** The drain rows' settings (graphile's performance page) with the scenario's concurrency. */
const FLOW_WORKER = { ...WORKER, concurrentJobs: FLOW_CONCURRENCY };

const logger = new Logger(() => (level: string, message: string) => { if (level === 'error') console.error(message); });

async function left(client: pg.Client) {
  const r = await client.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
  return r.rows[0]!.n;
}

/**
 * graphile-worker's per-key limit is a named queue: jobs with one queueName run one at a time (its
 * fetch locks the queue's row until the job completes), so queueName = key is Sluice's limit of 1.
 */
export const flow: FlowModule = {
  label: (limit) => (limit === null ? 'graphile-worker, no queue name' : 'graphile-worker, queueName = key'),
  limits: [null, 1],
  settings: { preset: { worker: FLOW_WORKER }, key: 'queueName = payload.key' },
  async setup(direct) {
    const u: WorkerUtils = await makeWorkerUtils({ connectionString: direct.pgUrl, logger });
    const client = new pg.Client({ connectionString: direct.pgUrl });
    await client.connect();
    return {
      async reset() {
        await client.query('delete from graphile_worker._private_jobs');
        await client.query('delete from graphile_worker._private_job_queues');
        await client.query('vacuum analyze');
      },
      async seed(payloads: FlowPayload[], limit) {
        const spec = (p: FlowPayload) => ({ identifier: TASK, payload: p, ...(limit === null ? {} : { queueName: p.key }) });
        for (let i = 0; i < payloads.length; i += 20_000) await u.addJobs(payloads.slice(i, i + 20_000).map(spec));
        await client.query('analyze');
      },
      remaining: () => left(client),
      async close() {
        await u.release();
        await client.end();
      },
    };
  },
  async drain(at, direct, n, capMs) {
    const counter = handlerCounter(n, capMs);
    const tracker = startTracker(counter.hit);
    const runner = await run({
      connectionString: at.pgUrl,
      noHandleSignals: true,
      logger,
      taskList: { [TASK]: async (p) => tracker.run((p as FlowPayload).key) },
      preset: { worker: FLOW_WORKER },
    });
    const check = new pg.Client({ connectionString: direct.pgUrl });
    await check.connect();
    const result = await settle(counter, n, capMs, () => left(check));
    await check.end();
    await runner.stop();
    return { ...result, extra: { tracker: tracker.stats() } };
  },
};
