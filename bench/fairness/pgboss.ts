import pg from 'pg';
import { PgBoss, type JobInsert, type WorkOptions } from 'pg-boss';
import { settle } from '../systems/types.js';
import { FAIRNESS_CONCURRENCY, type FairnessModule, type FairnessPayload, type Tenant } from './work.js';

/**
 * pg-boss 12 has no round-robin across keys. Its documented tool for tenants is a group: jobs sent
 * with `group: { id }`, worked with `groupConcurrency` (at most that many active jobs of a group, counted
 * in the database at each fetch). A cap only leaves room for another tenant if a fetch runs while the
 * capped tenant's jobs are active, so that row has two fetch loops of 5 jobs, the big tenant capped at
 * 5: one loop runs the backlog, the other finds the small tenant's jobs. (One loop of 10 never sees a
 * group at its cap: its batch is done before it fetches again. Ten loops of 1 poll every 0.5 s after
 * each job, as burstWhenBatchFull needs batches.) The other way a pg-boss user isolates tenants is a
 * queue per tenant with a worker each; its row splits the 10 handlers into two workers of 5.
 */
const QUEUE = 'fairness';
const TENANT_QUEUES: Record<Tenant, string> = { big: 'fairness-big', small: 'fairness-small' };
const LOOP = { burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 } as const;
const WORK: Record<string, WorkOptions> = {
  plain: { ...LOOP, batchSize: FAIRNESS_CONCURRENCY, localConcurrency: 1 },
  group: { ...LOOP, batchSize: FAIRNESS_CONCURRENCY / 2, localConcurrency: 2, groupConcurrency: FAIRNESS_CONCURRENCY / 2 },
  queues: { ...LOOP, batchSize: FAIRNESS_CONCURRENCY / 2, localConcurrency: 1 },
};
const BOSS = { max: 10, supervise: false, schedule: false, migrate: false, registerInstance: false };

const queueOf = (mode: string, tenant: Tenant) => (mode === 'queues' ? TENANT_QUEUES[tenant] : QUEUE);
const job = (mode: string) => (p: FairnessPayload): JobInsert => ({ data: p, ...(mode === 'group' ? { group: { id: p.tenant } } : {}) });
const QUEUES = [QUEUE, ...Object.values(TENANT_QUEUES)];

async function notCompleted(client: pg.Client) {
  const r = await client.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = any($1) and state <> 'completed'`, [QUEUES]);
  return r.rows[0]!.n;
}

async function started(url: string) {
  const boss = new PgBoss({ connectionString: url, ...BOSS });
  boss.on('error', (e) => console.error('pg-boss error:', e.message));
  return boss.start();
}

export const fairness: FairnessModule = {
  modes: ['plain', 'group', 'queues'],
  label: (mode) => ({
    plain: 'pg-boss, one queue',
    group: 'pg-boss, group.id = tenant, groupConcurrency 5',
    queues: 'pg-boss, a queue per tenant, a worker of 5 each',
  })[mode] ?? mode,
  settings: { work: WORK, constructor: BOSS, handler: 'batch, its jobs run side by side', group: 'group.id = payload.tenant' },
  async setup(direct) {
    const boss = await started(direct.pgUrl);
    for (const q of QUEUES) if (!(await boss.getQueue(q))) await boss.createQueue(q);
    const client = new pg.Client({ connectionString: direct.pgUrl });
    await client.connect();
    return {
      async reset() {
        for (const q of QUEUES) await boss.deleteAllJobs(q);
        await client.query('vacuum analyze');
      },
      async seed(payloads, mode) {
        for (let i = 0; i < payloads.length; i += 20_000) await boss.insert(queueOf(mode, 'big'), payloads.slice(i, i + 20_000).map(job(mode)));
        await client.query('analyze');
      },
      remaining: () => notCompleted(client),
      async close() {
        await boss.stop({ graceful: false });
        await client.end();
      },
    };
  },
  async worker(at, direct, mode) {
    const sender = await started(direct.pgUrl);
    return {
      async work(run, counter, n, capMs) {
        const boss = await started(at.pgUrl);
        const handler = async (batch: { data: FairnessPayload }[]) => { await Promise.all(batch.map((j) => run(j.data))); };
        const queues = mode === 'queues' ? Object.values(TENANT_QUEUES) : [QUEUE];
        for (const q of queues) await boss.work<FairnessPayload>(q, WORK[mode]!, handler);
        const check = new pg.Client({ connectionString: direct.pgUrl });
        await check.connect();
        try {
          return await settle(counter, n, capMs, () => notCompleted(check));
        } finally {
          await check.end();
          await boss.stop({ graceful: false, timeout: 1_000 });
        }
      },
      enqueueSmall: (payloads) => sender.insert(queueOf(mode, 'small'), payloads.map(job(mode))),
      close: () => sender.stop({ graceful: false, timeout: 1_000 }),
    };
  },
};
