import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobClaimSql, type Outcome } from '../lib/queue/queries-drain.js';
import type { FlowLimits } from '../lib/queue/queries-flow.js';
import { freshDatabase } from './support/db.js';
import { select } from './support/sql.js';

// The claim's plan (issue 10): a filter added to the claim once made the planner sort a sequential scan
// of the jobs table instead of walking jobs_claim_idx, ten times slower on 20,000 rows. This guards it.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  conn = await freshDatabase('pg');
  await conn.db.execute(sql`insert into sluice.jobs (type, payload) select 'noop', jsonb_build_object('i', g) from generate_series(1, 20000) g`);
  await conn.db.execute(sql`analyze sluice.jobs`);
});
afterAll(async () => { await conn?.close(); });

/** The nodes of a JSON plan, flattened. */
const nodes = (plan: Record<string, unknown>): Record<string, unknown>[] =>
  [plan, ...((plan.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(nodes)];

// Flow limits (issue 10) add their own CTEs; the walk must stay on the index with them too.
const FLOWS: (FlowLimits | null)[] = [
  null,
  { types: ['noop'], concurrency: [2], rate: [null], periodMs: [null] },
  { types: ['noop', 'other'], concurrency: [null, 3], rate: [5, 10], periodMs: [1000, 60_000] },
];
const outcome: Outcome = { id: crypto.randomUUID(), token: crypto.randomUUID(), kind: 'done' };

describe('the claim statement', () => {
  for (const [types, flow] of [null, ['noop']].flatMap((t) => FLOWS.map((f) => [t, f] as const))) {
    it(`walks jobs_claim_idx and never scans the whole jobs table (types ${JSON.stringify(types)}, flow ${JSON.stringify(flow?.types ?? null)})`, async () => {
      const claim = jobClaimSql({ token: crypto.randomUUID(), limit: 1000, types, app: 'test', leaseMs: 40_000, outcomes: [outcome], rescueLimit: 1000, flow });
      const [row] = await select<{ 'QUERY PLAN': { Plan: Record<string, unknown> }[] }>(conn.db, sql`explain (format json) ${claim}`);
      const all = nodes(row!['QUERY PLAN'][0]!.Plan);
      expect(all.some((n) => n['Index Name'] === 'jobs_claim_idx')).toBe(true);
      expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'jobs')).toEqual([]);
    });
  }
});
