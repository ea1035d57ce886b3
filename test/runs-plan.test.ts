// The runs browser's pages must cost the same on a year-old table as on a clean one: each status is read
// along its own index, a type at a time, so rows of other statuses, types and apps are never walked.
// Each case fills a table with a skew beside the same few rows of the listed status, EXPLAIN ANALYZEs one
// page (and the page after a cursor), and compares the buffers read with a clean table's.
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../lib/queue/index.js';
import type { JobStatus } from '../lib/queue/schema.js';
import { runsListSql, type RunFilterParams } from '../lib/queue/ops/queries-runs.js';
import { freshDatabase } from './support/db.js';

const SKEW = 200_000;
const ROWS = 120;

// Each row its own time, as drains write them (an outcome statement shares its time among at most a batch).
const fill = (status: string, type: string, n: number, at = "now() - interval '1 day' - g * interval '1 ms'") =>
  sql.raw(`insert into sluice.jobs (id, type, payload, status, run_after, completed_at, dead_at, cancelled_at, started_at, lock_token, locked_until)
    select uuidv7(), '${type}', '{}', '${status}', ${status === 'waiting' ? `now() + interval '1 day' + g * interval '1 ms'` : at},
      ${status === 'completed' ? at : 'null'}, ${status === 'dead' ? at : 'null'}, ${status === 'cancelled' ? at : 'null'},
      ${status === 'running' ? 'now()' : 'null'}, ${status === 'running' ? 'gen_random_uuid()' : 'null'}, ${status === 'running' ? "now() + interval '1 hour'" : 'null'}
    from generate_series(1, ${n}) g`);

const LISTED: JobStatus[] = ['completed', 'dead', 'cancelled', 'pending', 'waiting'];

/** Buffers read by a page of `status` (of `type` when given), and by the page after its cursor. */
async function measure(url: string, status: JobStatus, type: string | null, large: boolean): Promise<number[]> {
  const conn = freshDatabase.reconnect(url, 'pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('vacuum analyze sluice.jobs');
    const filter: RunFilterParams = { status, type, from: null, to: null, idempotencyKey: null, id: null };
    const first = await listJobs(conn.db, { status, type: type ?? undefined, limit: 50 });
    expect(first.jobs).toHaveLength(50);
    const cursor = JSON.parse(Buffer.from(first.nextCursor!, 'base64url').toString()).slice(1);
    const read: number[] = [];
    for (const c of [null, cursor]) {
      const query = new PgDialect().sqlToQuery(sql`explain (analyze, buffers, format json) ${runsListSql(filter, 51, c)}`);
      const { rows } = await client.query(query.sql, query.params);
      const all = nodes(rows[0]['QUERY PLAN'][0].Plan);
      if (process.env.SLUICE_PRINT_PLANS) console.log(status, type, JSON.stringify(all.filter((n) => n['Relation Name']).map((n) => [n['Node Type'], n['Index Name'], n['Actual Rows'], n['Shared Hit Blocks']])));
      // A clean table's few rows may be read whole; a large one never.
      if (large) expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'jobs')).toEqual([]);
      read.push(all.filter((n) => n['Relation Name'] !== undefined).reduce((sum, n) => sum + Number(n['Shared Hit Blocks'] ?? 0) + Number(n['Shared Read Blocks'] ?? 0), 0));
    }
    return read;
  } finally {
    await client.end();
    await conn.close();
  }
}

const nodes = (plan: Record<string, unknown>): Record<string, unknown>[] =>
  [plan, ...((plan.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(nodes)];

describe('the runs browser on a year-old table', () => {
  const clean = new Map<string, number[]>();
  const skewed = new Map<string, number[]>();
  const made: Awaited<ReturnType<typeof freshDatabase>>[] = [];
  beforeAll(async () => {
    const a = await freshDatabase('pg');
    const b = await freshDatabase('pg');
    made.push(a, b);
    for (const status of LISTED) {
      await a.db.execute(fill(status, 'email', ROWS));
      await b.db.execute(fill(status, 'email', ROWS));
    }
    // Beside them: another app's rows of every status, and the same type's rows of every status, many.
    for (const status of LISTED) {
      await b.db.execute(fill(status, 'other-app', SKEW / LISTED.length));
      await b.db.execute(fill(status, 'email', SKEW / LISTED.length, "now() - interval '20 days' - g * interval '1 ms'"));
    }
    for (const status of LISTED) {
      for (const type of [null, 'email']) {
        clean.set(`${status} ${type}`, await measure(a.url, status, type, false));
        skewed.set(`${status} ${type}`, await measure(b.url, status, type, true));
      }
    }
  }, 240_000);
  afterAll(async () => { await Promise.all(made.map((c) => c.close())); });

  for (const status of LISTED) {
    for (const type of [null, 'email']) {
      it(`a page of ${status} jobs${type ? ` of one type` : ''}, and the next, read about what they read on a clean table`, () => {
        const [first, next] = skewed.get(`${status} ${type}`)!;
        const [cleanFirst, cleanNext] = clean.get(`${status} ${type}`)!;
        // Pages are newest first: the skew's rows (older, or other types') are never reached.
        expect(first, `${first} buffers against ${cleanFirst} on a clean table`).toBeLessThan(cleanFirst! * 1.5 + 50);
        expect(next, `${next} buffers against ${cleanNext} on a clean table`).toBeLessThan(cleanNext! * 1.5 + 50);
      });
    }
  }
});
