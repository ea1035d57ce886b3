import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { createSluice } from '../../lib/sluice.js';
import { connect, defineJob, drain, DRAIN_DEFAULTS, pauseType, queueStats } from '../../lib/queue/index.js';
import { jobClaim, type ClaimParams } from '../../lib/queue/core/queries-drain.js';
import { claimQuery } from '../scenarios/claim.js';
import { countClaims } from '../flow/sluice.js';
import { setup } from '../systems/sluice.js';
import { handlerCounter, timed } from '../systems/types.js';
import { adminClient, ALL_TYPES, DAY_S, dropDatabase, roundRobin, spread, tableSide, tableSize, TYPES, type BigModule, type Part } from './types.js';

let hit: (() => void) | undefined;
const noop = defineJob({ type: TYPES.drained, payload: z.object({ i: z.number() }), handler: async () => { hit?.(); } });
const held = defineJob({ type: TYPES.paused, payload: z.object({ i: z.number() }), handler: async () => {} });
const hourly = defineJob({
  type: TYPES.limited,
  payload: z.object({ user: z.string() }),
  rateLimit: { limit: 1, periodMs: 3_600_000, key: (p: { user: string }) => p.user },
  handler: async () => {},
});
/** What a drain of this app defines: the paused type is its own; the rate-limited one only in the rate skew (and its clean twin). */
const definitions = (rate: boolean) => (rate ? [noop, held, hourly] : [noop, held]);

const COLUMNS = 'id, type, payload, status, attempts, max_attempts, run_after, last_error, created_at, dead_at, rate_key';
const series = (from: number, n: number) => `from generate_series(${from + 1}, ${from + n}) g`;

/** The rows of one part, g from from+1 to from+n; times relative to now(). */
function insert(part: Part, from: number, n: number): string[] {
  const into = `insert into sluice.jobs (${COLUMNS})`;
  const payload = `jsonb_build_object('i', g)`;
  const due = `now() - interval '1 minute' - ${spread(DAY_S)}`; // due for up to a day: well short of the lag cast's 24.9 days
  switch (part) {
    case 'finished': // Sluice deletes a job that succeeds: this share of the table is dead jobs too
    case 'dead': {
      const at = `now() - ${spread(30 * DAY_S)}`; // SLUICE_DEAD_RETENTION's 30 days
      return [`${into} select uuidv7(), ${roundRobin(ALL_TYPES)}, ${payload}, 'dead', 5, 5, ${at} - interval '1 hour',
        'attempt 5/5: failed', ${at} - interval '1 hour', ${at}, null ${series(from, n)}`];
    }
    case 'scheduled':
      return [`${into} select uuidv7(), '${TYPES.drained}', ${payload}, 'pending', 0, 5, now() + interval '1 hour' + ${spread(29 * DAY_S)},
        null, now() - ${spread(30 * DAY_S, 'g * 3')}, null, null ${series(from, n)}`];
    case 'other':
    case 'paused': {
      const type = part === 'other' ? roundRobin(TYPES.others) : `'${TYPES.paused}'`;
      return [`${into} select uuidv7(), ${type}, ${payload}, 'pending', 0, 5, ${due}, null, ${due}, null, null ${series(from, n)}`];
    }
    case 'rateKeys': {
      // One due job per key, its key's slot taken by a job started within the hour (free again in 20-60 min).
      const due30 = `now() - interval '1 minute' - ${spread(1_800)}`;
      return [
        `${into} select uuidv7(), '${TYPES.limited}', jsonb_build_object('user', 'user-' || g), 'pending', 0, 5, ${due30}, null, ${due30},
          null, 'user-' || g ${series(from, n)}`,
        `insert into sluice.flow_slots (type, limiter, key, slot, held_until, job_id, token)
         select '${TYPES.limited}', 'rate', 'user-' || g, 1, now() + interval '20 minutes' + ${spread(2_400)}, uuidv7(), gen_random_uuid() ${series(from, n)}`,
      ];
    }
  }
}

const TABLES = 'sluice.jobs, sluice.flow_slots';

export const big: BigModule = {
  notes: [
    'finished jobs: deleted when they succeed, so that share of the table is dead jobs (kept 30 days by default)',
    `paused type: \`${TYPES.paused}\`, one of the draining instance's types, paused (sluice.paused_types)`,
    `rate limit: \`${TYPES.limited}\` with rateLimit { limit: 1, periodMs: 1 h, key: payload.user }; held slots in sluice.flow_slots`,
    'stats: queueStats() (GET /api/queue/stats); health: GET /api/health through the HTTP app of a new instance (first call) and again (next call)',
  ],
  na: {},
  async open(server, database) {
    const installed = setup(server, database);
    const { pgUrl } = await installed.install();
    const conn = connect(pgUrl, { driver: 'pg', max: 2 });
    const admin = await adminClient(pgUrl, ['sluice.jobs', 'sluice.flow_slots']);
    await pauseType(conn.db, TYPES.paused);
    return {
      ...tableSide(pgUrl, admin, TABLES, TABLES, insert, (n) => installed.seed(n)),
      async cleanup() {
        await admin.query(`delete from sluice.jobs where type = $1 and status <> 'dead' and run_after <= now()`, [TYPES.drained]);
      },
      async claims(samples) {
        // As a drain of this app sends it: its own types, the lease its heartbeats renew.
        const batch = DRAIN_DEFAULTS.batchSize;
        await installed.seed(batch * (samples + 1));
        const params = (): ClaimParams => ({
          token: randomUUID(), limit: batch, types: [TYPES.drained, TYPES.paused], app: 'bench', rescueLimit: 0,
          leaseMs: DRAIN_DEFAULTS.leaseGraceMs, outcomes: [], flow: null,
        });
        return {
          batch,
          async once() {
            let got = 0;
            const ms = await timed(async () => { got = (await jobClaim(conn.db, params())).jobs.length; });
            if (got !== batch) throw new Error(`sluice claimed ${got} jobs, expected ${batch}`);
            return ms;
          },
          async explain() {
            const q = await claimQuery(params());
            await admin.query('begin');
            const explained = await admin.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${q.sql}`, q.params);
            await admin.query('rollback');
            return explained.rows.map((r) => r['QUERY PLAN']).join('\n');
          },
          async done() {
            await admin.query(`delete from sluice.jobs where type = $1 and status <> 'dead' and run_after <= now()`, [TYPES.drained]);
          },
        };
      },
      async readings() {
        const stats = await timed(() => queueStats(conn.db, definitions(false)));
        // A new instance, its pool connected, then two calls: what a monitor's first and later visits cost.
        const instance = createSluice({ jobs: definitions(false), url: pgUrl, driver: 'pg', poolMax: 1 });
        await instance.db.execute(sql`select 1`);
        const call = () => timed(async () => { await (await instance.fetch(new Request('http://bench/api/health'))).text(); });
        const first = await call();
        const next = await call();
        await instance.close();
        return [
          { kind: 'stats', label: 'queueStats()', ms: stats },
          { kind: 'health', label: 'GET /api/health, first call', ms: first },
          { kind: 'health', label: 'GET /api/health, next call', ms: next },
        ];
      },
      size: () => tableSize(admin, 'sluice.jobs'),
      async close() {
        await conn.close();
        await admin.end();
        await installed.close();
        await dropDatabase(server, database);
      },
    };
  },
  async drain(at, _direct, n, capMs, options) {
    const counter = handlerCounter(n, capMs);
    hit = counter.hit;
    const conn = connect(at.pgUrl, { driver: 'pg' });
    const claims = countClaims(conn);
    const summary = await drain(conn.db, definitions(options.rate === true), { budgetMs: capMs });
    const ms = counter.elapsed();
    counter.done();
    await conn.close();
    return { completed: summary.completed, ms, firstJobMs: counter.firstJobMs(), capped: summary.stoppedBy !== 'empty', extra: { claims, summary } };
  },
};
