import pg from 'pg';
import { PgBoss, type JobInsert } from 'pg-boss';
import { handlerCounter, settle } from '../systems/types.js';
import type { FlowModule } from './types.js';
import { FLOW_CONCURRENCY, startTracker, type FlowPayload } from './work.js';

const QUEUE = 'flow';
/**
 * pg-boss 12's per-key limit: jobs sent with `group: { id }`, worked with `groupConcurrency` (counted
 * in the database at each fetch, across every worker). Its handlers run a batch at a time, so one
 * fetch loop takes FLOW_CONCURRENCY jobs and runs them side by side, refetching at once while
 * batches come back full; one loop, as two would race: each fetch counts the other's jobs of a group
 * only once they are active, so two loops may start two jobs of one group.
 */
const WORK = { batchSize: FLOW_CONCURRENCY, localConcurrency: 1, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 };
const BOSS = { max: 10, supervise: false, schedule: false, migrate: false, registerInstance: false };

async function notCompleted(client: pg.Client) {
  const r = await client.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = $1 and state <> 'completed'`, [QUEUE]);
  return r.rows[0]!.n;
}

const quiet = (boss: PgBoss) => boss.on('error', (e) => console.error('pg-boss error:', e.message));

export const flow: FlowModule = {
  label: (limit) => (limit === null ? 'pg-boss, no group' : `pg-boss, groupConcurrency ${limit}`),
  limits: [null, 1],
  settings: { work: WORK, constructor: BOSS, handler: 'batch, its jobs run side by side', key: 'group.id = payload.key, groupConcurrency = limit' },
  async setup(direct) {
    const boss = new PgBoss({ connectionString: direct.pgUrl, ...BOSS });
    quiet(boss);
    await boss.start();
    if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE);
    const client = new pg.Client({ connectionString: direct.pgUrl });
    await client.connect();
    return {
      async reset() {
        await boss.deleteAllJobs(QUEUE);
        await client.query('vacuum analyze');
      },
      async seed(payloads: FlowPayload[], limit) {
        const job = (p: FlowPayload): JobInsert => ({ data: p, ...(limit === null ? {} : { group: { id: p.key } }) });
        for (let i = 0; i < payloads.length; i += 20_000) await boss.insert(QUEUE, payloads.slice(i, i + 20_000).map(job));
        await client.query('analyze');
      },
      remaining: () => notCompleted(client),
      async close() {
        await boss.stop({ graceful: false });
        await client.end();
      },
    };
  },
  async drain(at, direct, n, capMs, limit) {
    const counter = handlerCounter(n, capMs);
    const tracker = startTracker(counter.hit);
    const boss = new PgBoss({ connectionString: at.pgUrl, ...BOSS });
    quiet(boss);
    await boss.start();
    const options = limit === null ? WORK : { ...WORK, groupConcurrency: limit };
    await boss.work<FlowPayload>(QUEUE, options, async (batch) => { await Promise.all(batch.map((job) => tracker.run(job.data.key))); });
    const check = new pg.Client({ connectionString: direct.pgUrl });
    await check.connect();
    const result = await settle(counter, n, capMs, () => notCompleted(check));
    await check.end();
    await boss.stop({ graceful: false, timeout: 1_000 });
    return { ...result, extra: { tracker: tracker.stats() } };
  },
};
