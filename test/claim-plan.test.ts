import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobClaimSql } from '../lib/queue/queries.js';
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

describe('the claim statement', () => {
  for (const types of [null, ['noop']]) {
    it(`walks jobs_claim_idx and never scans the whole jobs table (types ${JSON.stringify(types)})`, async () => {
      const claim = jobClaimSql({ token: crypto.randomUUID(), limit: 1000, types, leaseMs: {}, defaultLeaseMs: 40_000, outcomes: [], rescueLimit: 1000 });
      const [row] = await select<{ 'QUERY PLAN': { Plan: Record<string, unknown> }[] }>(conn.db, sql`explain (format json) ${claim}`);
      const all = nodes(row!['QUERY PLAN'][0]!.Plan);
      expect(all.some((n) => n['Index Name'] === 'jobs_claim_idx')).toBe(true);
      expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'jobs')).toEqual([]);
    });
  }
});
