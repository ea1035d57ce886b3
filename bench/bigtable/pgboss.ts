import { drainUntil, QUEUE, setup, started, WORK } from '../systems/pgboss.js';
import { timed } from '../systems/types.js';
import { adminClient, ALL_TYPES, count, DAY_S, dropDatabase, roundRobin, spread, tableSide, tableSize, TYPES, type BigModule, type Part } from './types.js';

const COLUMNS = 'name, data, state, retry_count, start_after, created_on, started_on, completed_on, keep_until, output, policy';
const series = (from: number, n: number) => `from generate_series(${from + 1}, ${from + n}) g`;
/** The jobs seeded since $1 not completed yet (pgboss.job_common_i15 is on name, created_on). */
const LEFT = `from pgboss.job where name = '${QUEUE}' and created_on >= $1 and state < 'completed'`;

/**
 * The rows of one part in pgboss.job (the queues are in its default partition, job_common, as
 * createQueue puts them), as pg-boss 12 writes them: `standard` policy, its column defaults for the rest.
 */
function insert(part: Part, from: number, n: number): string[] {
  const into = `insert into pgboss.job (${COLUMNS})`;
  const data = `jsonb_build_object('i', g)`;
  const due = `now() - interval '1 minute' - ${spread(DAY_S)}`;
  switch (part) {
    case 'finished': { // kept for deletion_seconds (7 days) after completing
      const at = `now() - ${spread(7 * DAY_S)}`;
      return [`${into} select ${roundRobin(ALL_TYPES)}, ${data}, 'completed', 0, ${at} - interval '1 second', ${at} - interval '1 second',
        ${at} - interval '500 milliseconds', ${at}, ${at} + interval '14 days', null, 'standard' ${series(from, n)}`];
    }
    case 'dead': {
      const at = `now() - ${spread(30 * DAY_S)}`;
      return [`${into} select ${roundRobin(ALL_TYPES)}, ${data}, 'failed', 2, ${at} - interval '1 hour', ${at} - interval '1 hour', ${at},
        ${at}, ${at} + interval '14 days', '{"message": "failed"}'::jsonb, 'standard' ${series(from, n)}`];
    }
    case 'scheduled':
      return [`${into} select '${TYPES.drained}', ${data}, 'created', 0, now() + interval '1 hour' + ${spread(29 * DAY_S)},
        now() - ${spread(30 * DAY_S, 'g * 3')}, null, null, now() + interval '44 days', null, 'standard' ${series(from, n)}`];
    case 'other':
    case 'paused': {
      const name = part === 'other' ? roundRobin(TYPES.others) : `'${TYPES.paused}'`;
      return [`${into} select ${name}, ${data}, 'created', 0, ${due}, ${due}, null, null, now() + interval '14 days', null, 'standard' ${series(from, n)}`];
    }
    case 'rateKeys':
      throw new Error('pg-boss has no per-key rate limit');
  }
}

export const big: BigModule = {
  notes: [
    'finished jobs: kept (state completed) for deletion_seconds, 7 days by default; this share of the table is completed jobs',
    `paused type: pg-boss has no pause; \`${TYPES.paused}\` is a queue no worker works (as another app's)`,
    'all queues in the default partition (pgboss.job_common), as createQueue makes them',
    'stats: getQueueStats(queue) as served (from the counts cached on pgboss.queue) and with that cache stale (it recounts the queue); health: none',
  ],
  na: { rate: 'no per-key rate limit (its throttling, singletonSeconds, acts at send)' },
  async open(server, database) {
    const installed = setup(server, database);
    const { pgUrl } = await installed.install();
    const admin = await adminClient(pgUrl, ['pgboss.job_common']);
    const boss = await started(pgUrl);
    for (const name of [TYPES.paused, ...TYPES.others]) await boss.createQueue(name);
    const tables = 'pgboss.job, pgboss.queue';
    const seedNow = async () => (await admin.query<{ now: Date }>('select now()')).rows[0]!.now.toISOString();
    return {
      ...tableSide(pgUrl, admin, tables, 'pgboss.job_common', insert, (n) => installed.seed(n), seedNow),
      async cleanup(seeded) {
        await admin.query(`delete ${LEFT}`, [seeded.since]);
      },
      async claims(samples) {
        const since = await seedNow();
        await installed.seed(WORK.batchSize * (samples + 1));
        return {
          batch: WORK.batchSize,
          async once() {
            let got = 0;
            const ms = await timed(async () => { got = (await boss.fetch(QUEUE, { batchSize: WORK.batchSize })).length; });
            if (got !== WORK.batchSize) throw new Error(`pg-boss fetched ${got} jobs, expected ${WORK.batchSize}`);
            return ms;
          },
          done: async () => { await admin.query(`delete ${LEFT}`, [since]); },
        };
      },
      async readings() {
        // Its cache made stale (as if never monitored), the call recounts and caches; the next is served.
        await admin.query('update pgboss.queue set monitor_on = null where name = $1', [QUEUE]);
        const fresh = await timed(() => boss.getQueueStats(QUEUE));
        const cached = await timed(() => boss.getQueueStats(QUEUE));
        return [
          { kind: 'stats', label: 'getQueueStats(), as served', ms: cached },
          { kind: 'stats', label: 'getQueueStats(), cache stale', ms: fresh },
        ];
      },
      size: () => tableSize(admin, 'pgboss.job_common'),
      async close() {
        await boss.stop({ graceful: false, timeout: 1_000 });
        await admin.end();
        await installed.close();
        await dropDatabase(server, database);
      },
    };
  },
  drain: (at, direct, n, capMs, options) => drainUntil(at, direct, n, capMs, (check) => count(check, `select count(*)::int as n ${LEFT}`, [options.since])),
};
