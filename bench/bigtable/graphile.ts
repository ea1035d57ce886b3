import { run } from 'graphile-worker';
import pg from 'pg';
import { drainUntil, logger, setup, TASK, WORKER } from '../systems/graphile.js';
import { timed } from '../systems/types.js';
import { adminClient, ALL_TYPES, count, DAY_S, dropDatabase, roundRobin, spread, tableSide, tableSize, TYPES, type BigModule, type Part } from './types.js';

const JOBS = 'graphile_worker._private_jobs';
const COLUMNS = 'task_id, payload, run_at, attempts, max_attempts, last_error, created_at, updated_at';
const series = (from: number, n: number) => `from generate_series(${from + 1}, ${from + n}) g`;

/** The rows of one part, as add_jobs writes them (no named queue, no key, no flags); `task` maps identifiers to ids. */
function inserter(task: Map<string, number>) {
  const id = (identifier: string) => task.get(identifier)!;
  return (part: Part, from: number, n: number): string[] => {
    const into = `insert into ${JOBS} (${COLUMNS})`;
    const payload = `json_build_object('i', g)`;
    const due = `now() - interval '1 minute' - ${spread(DAY_S)}`;
    switch (part) {
      case 'finished': // deleted when they complete: this share of the table is failed jobs too
      case 'dead': { // out of attempts, kept until deleted
        const at = `now() - ${spread(30 * DAY_S)}`;
        return [`${into} select ${roundRobin(ALL_TYPES.map(id))}, ${payload}, ${at}, 25, 25, 'failed', ${at} - interval '1 hour', ${at} ${series(from, n)}`];
      }
      case 'scheduled': {
        const created = `now() - ${spread(30 * DAY_S, 'g * 3')}`;
        return [`${into} select ${id(TYPES.drained)}, ${payload}, now() + interval '1 hour' + ${spread(29 * DAY_S)}, 0, 25, null, ${created}, ${created} ${series(from, n)}`];
      }
      case 'other':
      case 'paused': {
        const task = part === 'other' ? roundRobin(TYPES.others.map(id)) : String(id(TYPES.paused));
        return [`${into} select ${task}, ${payload}, ${due}, 0, 25, null, ${due}, ${due} ${series(from, n)}`];
      }
      case 'rateKeys':
        throw new Error('graphile-worker has no rate limit');
    }
  };
}

/**
 * The worker's claim (its batch "get_job" statement) as it sends it, caught on the wire of a runner
 * started against an empty queue and stopped once it has asked. graphile-worker has no call that claims
 * without running, so the claim probe replays this statement.
 */
async function claimStatement(url: string): Promise<pg.QueryConfig> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', (e) => console.error('graphile-worker pool:', e.message));
  let caught: ((q: pg.QueryConfig) => void) | undefined;
  const asked = new Promise<pg.QueryConfig>((resolve, reject) => {
    caught = resolve;
    setTimeout(() => reject(new Error('graphile-worker sent no get_job statement in 10 s')), 10_000).unref();
  });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const q = args[0] as pg.QueryConfig;
      if (typeof q === 'object' && q.name?.startsWith('get_job')) caught?.({ text: q.text, values: q.values, name: q.name });
      return query(...args);
    };
  });
  const runner = await run({ pgPool: pool, noHandleSignals: true, logger, taskList: { [TASK]: async () => {} }, preset: { worker: WORKER } });
  try {
    return await asked;
  } finally {
    await runner.stop();
    await pool.end();
  }
}

export const big: BigModule = {
  notes: [
    'finished jobs: deleted when they complete, so that share of the table is failed jobs (attempts exhausted, kept until deleted)',
    `paused type: graphile-worker has no pause; \`${TYPES.paused}\` is a task no worker supports (as another app's)`,
    'stats: no stats call; a count over its documented jobs view by task (ready, scheduled, locked, failed); health: none',
  ],
  na: { rate: 'no rate limit' },
  async open(server, database) {
    const installed = setup(server, database);
    const { pgUrl } = await installed.install();
    const admin = await adminClient(pgUrl, [JOBS]);
    await admin.query(`insert into graphile_worker._private_tasks (identifier) select unnest($1::text[]) on conflict do nothing`, [ALL_TYPES]);
    const tasks = await admin.query<{ id: number; identifier: string }>('select id, identifier from graphile_worker._private_tasks');
    const insert = inserter(new Map(tasks.rows.map((t) => [t.identifier, t.id])));
    const tables = `${JOBS}, graphile_worker._private_job_queues`;
    const watermark = async () => count(admin, `select coalesce(max(id), 0)::int as n from ${JOBS}`);
    const after = (id: unknown) => admin.query(`delete from ${JOBS} where id > $1`, [id]);
    return {
      ...tableSide(pgUrl, admin, tables, JOBS, insert, (n) => installed.seed(n), watermark),
      cleanup: (seeded) => after(seeded.since).then(() => {}),
      async claims(samples) {
        const statement = await claimStatement(pgUrl);
        const batch = WORKER.localQueue.size;
        const since = await watermark();
        await installed.seed(batch * (samples + 1));
        const client = new pg.Client({ connectionString: pgUrl });
        await client.connect();
        return {
          batch,
          async once() {
            let got = 0;
            const ms = await timed(async () => { got = (await client.query(statement)).rows.length; });
            if (got !== batch) throw new Error(`graphile-worker claimed ${got} jobs, expected ${batch}`);
            return ms;
          },
          async done() {
            await client.end();
            await after(since);
          },
        };
      },
      async readings() {
        const ms = await timed(() => admin.query(`
          select task_identifier,
                 count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now()) as ready,
                 count(*) filter (where locked_at is null and attempts < max_attempts and run_at > now()) as scheduled,
                 count(*) filter (where locked_at is not null) as locked,
                 count(*) filter (where attempts >= max_attempts) as failed
          from graphile_worker.jobs group by task_identifier`));
        return [{ kind: 'stats', label: 'count over graphile_worker.jobs by task', ms }];
      },
      size: () => tableSize(admin, JOBS),
      async close() {
        await admin.end();
        await installed.close();
        await dropDatabase(server, database);
      },
    };
  },
  drain: (at, direct, n, capMs, options) => drainUntil(at, direct, n, capMs, (check) => count(check, `select count(*)::int as n from ${JOBS} where id > $1`, [options.since])),
};
