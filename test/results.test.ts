import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  completedPrune, defineJob, drain, enqueue, getJob, jobResult, JobNotFoundError, PermanentError, type HousekeepingReport,
} from '../lib/queue/index.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { jobClaim, jobWriteOutcomes } from '../lib/queue/core/queries-drain.js';
import { freshDatabase } from './support/db.js';
import { countJobs, jobRow, select, waitFor } from './support/sql.js';

// Results: a handler's return value is stored with its job's completion, for sluice.result() and admin.get.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

const charge = defineJob({
  type: 'charge-card',
  payload: z.object({ orderId: z.string() }),
  result: z.object({ chargeId: z.string(), cents: z.number().default(500) }),
  handler: async ({ orderId }) => ({ chargeId: `ch_${orderId}` }),
});
const quiet = defineJob({ type: 'quiet', payload: z.object({}), handler: async () => {} });
const plain = defineJob({ type: 'plain', payload: z.object({ n: z.number() }), handler: async ({ n }) => n * 2 });
const broken = defineJob({ type: 'broken', payload: z.object({}), handler: async () => { throw new PermanentError('card declined'); } });
const jobs = [charge, quiet, plain, broken];

describe('results', () => {
  it('are stored with the completion, checked and shaped by the result schema, and read by result() and getJob()', async () => {
    const { id } = await enqueue(conn.db, charge, { orderId: 'o1' });
    expect(await drain(conn.db, jobs, { budgetMs: 5_000 })).toMatchObject({ completed: 1 });
    expect(await jobResult(conn.db, id, { job: charge })).toEqual({ status: 'completed', result: { chargeId: 'ch_o1', cents: 500 } });
    const job = await getJob(conn.db, id);
    expect(job).toMatchObject({ status: 'completed', result: { chargeId: 'ch_o1', cents: 500 }, completedAt: expect.any(String), lockedUntil: null });
    // A handler returning a value without a schema is stored as returned.
    const doubled = await enqueue(conn.db, plain, { n: 21 });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await jobResult(conn.db, doubled.id)).toEqual({ status: 'completed', result: 42 });
  });

  it('a job that returns nothing and that nobody awaits is deleted as it completes; an awaited one stays, completed', async () => {
    await enqueue(conn.db, quiet, {});
    const awaited = await enqueue(conn.db, quiet, {});
    expect(await jobResult(conn.db, awaited.id)).toEqual({ status: 'pending' });
    expect(await drain(conn.db, jobs, { budgetMs: 5_000 })).toMatchObject({ completed: 2 });
    expect(await countJobs(conn.db)).toBe(1);
    expect(await jobResult(conn.db, awaited.id)).toEqual({ status: 'completed', result: undefined });
  });

  it('result() waits for the job to end, answers its status when the wait ends first, and refuses unknown ids', async () => {
    const { id } = await enqueue(conn.db, plain, { n: 1 });
    expect(await jobResult(conn.db, id, { timeoutMs: 200 })).toEqual({ status: 'pending' });
    const waiting = jobResult(conn.db, id, { timeoutMs: 20_000 });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await waiting).toEqual({ status: 'completed', result: 2 });
    await expect(jobResult(conn.db, '0190b8c0-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(jobResult(conn.db, id, { timeoutMs: 60_000 })).rejects.toThrow(/timeoutMs must be from 0 to 30000/);
    await expect(jobResult(conn.db, id, { job: charge })).rejects.toThrow(/of type "plain", not "charge-card"/);
  });

  it('a dead job answers its last error', async () => {
    const { id } = await enqueue(conn.db, broken, {});
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'dead', error: 'PermanentError: card declined' });
  });

  it('a result that fails its schema, or is too large, is a failed run, retried like a throw', async () => {
    const wrong = defineJob({
      type: 'wrong-result', payload: z.object({}), maxAttempts: 2, backoff: { baseMs: 1 },
      result: z.object({ chargeId: z.string() }),
      handler: async () => ({ chargeId: 7 }) as unknown as { chargeId: string },
    });
    const { id } = await enqueue(conn.db, wrong, {});
    expect(await drain(conn.db, [wrong], { budgetMs: 5_000, maxJobs: 1 })).toMatchObject({ retried: 1 });
    expect((await jobRow(conn.db, id))!.last_error).toMatch(/^attempt 1\/2: the handler's result failed its schema: /);
    const big = defineJob({ type: 'big-result', payload: z.object({}), maxAttempts: 1, handler: async () => 'x'.repeat(2_000) });
    const large = await enqueue(conn.db, big, {});
    expect(await drain(conn.db, [big], { budgetMs: 5_000, maxResultBytes: 1_000 })).toMatchObject({ dead: 1 });
    expect((await jobRow(conn.db, large.id))!.last_error).toBe('attempt 1/1: the handler returned 2002 bytes of JSON; the limit is 1000 (SLUICE_MAX_RESULT_BYTES)');
  });

  it('are deleted once past SLUICE_RESULT_RETENTION, in batches: cancelled jobs by the tick\'s housekeeping, completed ones by completedPrune', async () => {
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push((await enqueue(conn.db, plain, { n })).id);
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    // Two completed long ago, one just now; one cancelled long ago.
    await conn.db.execute(sql`update sluice.jobs set completed_at = now() - interval '8 days' where id in (${ids[0]!}::uuid, ${ids[1]!}::uuid)`);
    const old = await enqueue(conn.db, quiet, {});
    await conn.db.execute(sql`update sluice.jobs set status = 'cancelled', cancelled_at = now() - interval '8 days' where id = ${old.id}::uuid`);
    const reports: HousekeepingReport[] = [];
    const tick = (pruneBatch: number) => drain(conn.db, jobs, {
      budgetMs: 5_000,
      housekeeping: {
        params: { scope: { app: 'results-test', types: jobs.map((j) => j.type) }, historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000,
                  resultRetentionMs: 7 * 86_400_000, pruneBatch, alerts: null },
        onReport: (report) => reports.push(report),
      },
    });
    await tick(2);
    expect(reports[0]!.pruned.ended).toBe(1); // the cancelled one; completed runs are pruned in statements of their own
    const prune = () => completedPrune(conn.db, { types: jobs.map((j) => j.type), completedRetentionMs: 0, resultRetentionMs: 7 * 86_400_000, limit: 1 });
    expect([await prune(), await prune(), await prune()]).toEqual([1, 1, 0]);
    expect((await select<{ id: string }>(conn.db, sql`select id from sluice.jobs`)).map((r) => r.id)).toEqual([ids[2]]);
  });

  it('an await or a cancel that commits while the outcome write waits for the row is not lost: the job ends completed or cancelled', async () => {
    for (const [change, status] of [['awaited = true', 'completed'], ['cancel_requested_at = now()', 'cancelled']] as const) {
      const { id } = await enqueue(conn.db, quiet, {});
      const token = randomUUID();
      await jobClaim(conn.db, { token, limit: 1, types: ['quiet'], app: 'test', leaseMs: 60_000, outcomes: [], rescueLimit: 0, flow: null });
      // Another session changes the row and holds it: the outcome statement's snapshot predates the change.
      const other = new pg.Client({ connectionString: conn.url });
      await other.connect();
      try {
        await other.query('begin');
        await other.query(`update sluice.jobs set ${change} where id = $1`, [id]);
        const written = jobWriteOutcomes(conn.db, [{ id, token, kind: 'done' }]);
        await waitFor('the outcome write to wait for the row', async () => {
          const [waiting] = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
          return waiting!.n > 0 ? true : undefined;
        });
        await other.query('commit');
        expect((await written).written).toBe(1);
      } finally {
        await other.end();
      }
      expect(await getJob(conn.db, id)).toMatchObject({ status, result: null, lockedUntil: null });
    }
  });
});

