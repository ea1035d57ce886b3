import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { runProcess } from './support/processes.js';
import { countJobs, jobRow, waitFor } from './support/sql.js';
import { jobHeartbeat, jobWriteOutcomes } from '../lib/queue/core/queries-drain.js';

// Heartbeats (issue 11): a running job's lease is renewed while its handler lives, so a lease lasts
// the grace past the last heartbeat, not the job's whole timeout.
const CHILD = new URL('./fixtures/heartbeat-child.ts', import.meta.url).pathname;
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

describe('heartbeats', () => {
  it('keep a 30 s step from being rescued with a 10 s lease grace, while other drains keep looking', async () => {
    const runs: number[] = [];
    const long = defineJob({
      type: 'long-step', payload: z.object({}), timeoutMs: 60_000,
      handler: async (_, ctx) => {
        runs.push(ctx.job.attempt);
        await ctx.step('import', () => new Promise((r) => setTimeout(r, 30_000)));
      },
    });
    const { id } = await enqueue(conn.db, long, {});
    const other = freshDatabase.reconnect(conn.url, 'pg');
    try {
      const main = drain(conn.db, [long], { budgetMs: 45_000, leaseGraceMs: 10_000 });
      let done = false;
      void main.finally(() => (done = true));
      let rescued = 0;
      let longestLease = 0;
      // Another drain looks every half second: it must never find the lease expired.
      while (!done) {
        const pass = await drain(other.db, [long], { budgetMs: 500, leaseGraceMs: 10_000 });
        rescued += pass.rescued + pass.claimed;
        const row = await jobRow(conn.db, id);
        if (row?.lease_left_ms != null) longestLease = Math.max(longestLease, row.lease_left_ms);
      }
      expect(await main).toMatchObject({ completed: 1, rescued: 0 });
      expect(rescued).toBe(0);
      expect(runs).toEqual([1]);
      // The lease was renewed in steps of the grace, never set to the job's 60 s timeout. (A read's
      // now() can start a fraction of a millisecond before a heartbeat it still sees committed.)
      expect(longestLease).toBeLessThan(10_000 + 1_000);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('end with their drain: a killed drain\'s job is rescued once the grace has passed, not its timeout', async () => {
    const { id } = await enqueue(conn.db, defineJob({ type: 'hangs', payload: z.object({}), handler: async () => {} }), {});
    const out = await runProcess(CHILD, { DATABASE_URL: conn.url, DRIVER: 'pg' }, (line, kill) => line === 'started' && kill());
    expect(out).toEqual(['started']);
    // The job's timeout is a minute; its lease ends at most the grace (2 s) after the last heartbeat.
    const row = (await jobRow(conn.db, id))!;
    expect(row.status).toBe('running');
    expect(row.lease_left_ms).toBeLessThanOrEqual(2_000);
    const healthy = defineJob({ type: 'hangs', payload: z.object({}), handler: async () => {} });
    await waitFor('the rescue', async () => {
      await drain(conn.db, [healthy], { budgetMs: 1_000 });
      return (await countJobs(conn.db, sql`status = 'running'`)) === 0 ? true : undefined;
    });
  });

  it('ctx.heartbeat() renews the lease on demand, and fails once the lease is lost', async () => {
    const leases: number[] = [];
    let lost: unknown;
    const job = defineJob({
      type: 'beats', payload: z.object({}), timeoutMs: 10_000,
      handler: async (_, ctx) => {
        await new Promise((r) => setTimeout(r, 1_200));
        await ctx.heartbeat();
        leases.push((await jobRow(conn.db, ctx.job.id))!.lease_left_ms!);
        await conn.db.execute(sql`update sluice.jobs set lock_token = gen_random_uuid() where id = ${ctx.job.id}::uuid`);
        lost = await ctx.heartbeat().then(() => 'renewed', (error: Error) => error.message);
      },
    });
    await enqueue(conn.db, job, {});
    await drain(conn.db, [job], { budgetMs: 5_000, leaseGraceMs: 3_000 });
    // Renewed just now: close to the full grace again, though 1.2 s of it had passed.
    expect(leases[0]).toBeGreaterThan(2_000);
    expect(lost).toMatch(/lease passed to another run/);
  });

  it('win over a late rescue: a rescue outcome is written only while the lease is still expired', async () => {
    const { id } = await enqueue(conn.db, defineJob({ type: 'contested', payload: z.object({}), handler: async () => {} }), {});
    const token = crypto.randomUUID();
    // Running, its lease renewed by its drain just after another drain listed it as expired.
    await conn.db.execute(sql`update sluice.jobs set status = 'running', attempts = 1, lock_token = ${token}::uuid,
      locked_until = now() + interval '5 seconds' where id = ${id}::uuid`);
    const rescue = { id, token, kind: 'retry' as const, delay_ms: 0, error: 'lease expired', rescue: true };
    expect((await jobWriteOutcomes(conn.db, [rescue])).written).toBe(0);
    expect((await jobRow(conn.db, id))!.status).toBe('running');
    // Expired for real: the rescue applies, and a late heartbeat then finds the job lost.
    await conn.db.execute(sql`update sluice.jobs set locked_until = now() - interval '1 second' where id = ${id}::uuid`);
    expect(await jobHeartbeat(conn.db, [{ id, token }], 2_000, false)).toEqual([]);
    expect((await jobWriteOutcomes(conn.db, [rescue])).written).toBe(1);
    expect((await jobRow(conn.db, id))!.status).toBe('pending');
  });
});
