// The claim's cost must not grow with rows it will never run. Each case fills a table the way a year-old
// production has it (another app's jobs, a paused type, jobs scheduled a month ahead, waiting jobs, held rate keys,
// dead jobs) beside the same few due jobs, and EXPLAIN ANALYZEs one claim: it must read about as many
// buffers as the same claim on a clean table. A plan that walks the rows it filters away reads
// thousands more and fails here.
import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobClaim, jobClaimSql, type ClaimParams } from '../lib/queue/core/queries-drain.js';
import type { FlowLimits } from '../lib/queue/core/queries-flow.js';
import { freshDatabase } from './support/db.js';

const SKEW = 100_000;
const DUE = 300;
const RATE: FlowLimits = { types: ['email'], concurrency: [null], rate: [1], periodMs: [3_600_000] };
const CONCURRENCY: FlowLimits = { types: ['email'], concurrency: [2], rate: [null], periodMs: [null] };

interface Case {
  name: string;
  fill: SQL[];
  flow?: FlowLimits;
  /** Claims sent (and committed) before the measured one: a first claim may set rows aside for later ones. */
  warmClaims?: number;
}

const due = (type: string, n: number, extra = '') =>
  sql.raw(`insert into sluice.jobs (id, type, payload, run_after${extra ? ', rate_key' : ''}) select uuidv7(), '${type}', jsonb_build_object('i', g), now() - interval '1 hour'${extra} from generate_series(1, ${n}) g`);

const CASES: Case[] = [
  { name: 'a clean table', fill: [] },
  { name: 'another app\'s due jobs (a type this instance does not define)', fill: [due('other-app', SKEW)] },
  { name: 'a paused type\'s due jobs', fill: [due('reports', SKEW), sql`insert into sluice.paused_types (type) values ('reports')`] },
  { name: 'jobs scheduled a month ahead', fill: [sql.raw(`insert into sluice.jobs (id, type, payload, run_after) select uuidv7(), 'noop', '{}', now() + interval '30 days' from generate_series(1, ${SKEW}) g`)] },
  { name: 'jobs waiting for child jobs or events, of this app and another', fill: [sql.raw(`insert into sluice.jobs (id, type, payload, status, run_after, wait_for) select uuidv7(), case when g % 2 = 0 then 'noop' else 'other-app' end, '{}', 'waiting', now() + interval '1 day', array['approved' || chr(1) || g] from generate_series(1, ${SKEW}) g`)] },
  { name: 'completed runs kept, of this app and another', fill: [sql.raw(`insert into sluice.jobs (id, type, payload, status, completed_at) select uuidv7(), case when g % 2 = 0 then 'noop' else 'other-app' end, '{}', 'completed', now() - interval '1 day' from generate_series(1, ${SKEW}) g`)] },
  { name: 'dead jobs', fill: [sql.raw(`insert into sluice.jobs (id, type, payload, status, dead_at) select uuidv7(), 'noop', '{}', 'dead', now() from generate_series(1, ${SKEW}) g`)] },
  {
    name: 'keys holding an hourly rate-limit slot, each with a due job',
    fill: [
      sql.raw(`insert into sluice.flow_slots (type, limiter, key, slot, held_until, job_id, token) select 'email', 'rate', 'u' || g, 1, now() + interval '1 hour', gen_random_uuid(), gen_random_uuid() from generate_series(1, ${SKEW / 10}) g`),
      due('email', SKEW / 10, ", 'u' || g"),
    ],
    flow: RATE,
    // The first claims find the keys' windows full and defer their jobs to when the windows open.
    warmClaims: SKEW / 10 / 1000 + 1,
  },
  {
    name: 'keys whose concurrency slots are all held, and another app\'s due jobs',
    fill: [due('other-app', SKEW), sql.raw(`insert into sluice.flow_slots (type, limiter, key, slot, held_until, job_id, token) select 'email', 'concurrency', 'k' || g, s, now() + interval '1 hour', gen_random_uuid(), gen_random_uuid() from generate_series(1, ${SKEW / 10}) g, generate_series(1, 2) s`)],
    flow: CONCURRENCY,
  },
];

/** The measured claim's buffers, its scans of sluice.jobs, and how many jobs it claimed. */
async function measure(url: string, c: Case): Promise<{ buffers: number; scans: Record<string, unknown>[]; claimed: number }> {
  const conn = freshDatabase.reconnect(url, 'pg');
  const params = (): ClaimParams => ({
    token: randomUUID(), limit: 100, types: ['noop', 'reports', 'email'], app: 'test', leaseMs: 30_000, outcomes: [], rescueLimit: 100, flow: c.flow ?? null,
  });
  for (let i = 0; i < (c.warmClaims ?? 0); i++) await jobClaim(conn.db, { ...params(), types: ['email'], limit: 1000 });
  await conn.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('vacuum analyze sluice.jobs');
    const query = new PgDialect().sqlToQuery(sql`explain (analyze, buffers, format json) ${jobClaimSql(params())}`);
    await client.query('begin');
    const { rows } = await client.query(query.sql, query.params);
    await client.query('rollback');
    const plan = rows[0]['QUERY PLAN'][0] as { Plan: Record<string, unknown> };
    const all = nodes(plan.Plan);
    const scans = all.filter((n) => n['Relation Name'] === 'jobs' && String(n['Node Type']).includes('Scan'));
    // What the scans of tables read (each node's count includes the nodes below it: a CTE's reader would
    // count the CTE again).
    const buffers = all.filter((n) => n['Relation Name'] !== undefined).reduce((sum, n) => sum + Number(n['Shared Hit Blocks'] ?? 0) + Number(n['Shared Read Blocks'] ?? 0), 0);
    const claimed = Number(all.find((n) => n['Subplan Name'] === 'CTE claimed')?.['Actual Rows'] ?? 0);
    if (process.env.SLUICE_PRINT_PLANS) console.log(c.name, buffers, JSON.stringify(scans.map((n) => [n['Node Type'], n['Index Name'], n['Actual Rows'], n['Shared Hit Blocks'], n['Rows Removed by Filter']])));
    return { buffers, scans, claimed };
  } finally {
    await client.end();
  }
}

/** The nodes of a JSON plan, flattened. */
const nodes = (plan: Record<string, unknown>): Record<string, unknown>[] =>
  [plan, ...((plan.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(nodes)];

describe('the claim on a year-old table', () => {
  const results = new Map<string, Awaited<ReturnType<typeof measure>>>();
  const made: Awaited<ReturnType<typeof freshDatabase>>[] = [];
  beforeAll(async () => {
    for (const c of CASES) {
      const conn = await freshDatabase('pg');
      made.push(conn);
      for (const statement of [...c.fill, due('noop', DUE)]) await conn.db.execute(statement);
      results.set(c.name, await measure(conn.url, c));
    }
  }, 180_000);
  afterAll(async () => { await Promise.all(made.map((c) => c.close())); });

  for (const c of CASES.slice(1)) {
    it(`reads about what it reads on a clean table, beside ${c.name}`, () => {
      const clean = results.get('a clean table')!;
      const skewed = results.get(c.name)!;
      expect(skewed.claimed).toBe(100);
      expect(skewed.scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      // Rows fetched and thrown away by a filter: none beyond a handful.
      for (const scan of skewed.scans) expect(Number(scan['Rows Removed by Filter'] ?? 0)).toBeLessThanOrEqual(10);
      expect(skewed.buffers, `${skewed.buffers} buffers against ${clean.buffers} on a clean table`).toBeLessThan(clean.buffers * 1.5 + 100);
    });
  }
});
