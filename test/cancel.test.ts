import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  cancelDeadJobs, cancelJob, defineJob, drain, enqueue, getJob, jobResult, JobCancelledError, JobStateError,
} from '../lib/queue/index.js';
import { jobClaim } from '../lib/queue/core/queries-drain.js';
import { freshDatabase } from './support/db.js';
import { jobRow, latch, select, waitFor } from './support/sql.js';

// Cancelling: a pending or dead job at once; a running one through its drain's heartbeat.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.job_steps`);
});

const idle = defineJob({ type: 'idle', payload: z.object({}), maxAttempts: 1, handler: async () => { throw new Error('fails'); } });

describe('cancel', () => {
  it('a pending or dead job becomes cancelled at once, its steps kept (for a replay from one), and result() reads cancelled', async () => {
    const pending = await enqueue(conn.db, idle, {});
    await conn.db.execute(sql`insert into sluice.job_steps (job_id, name, result) values (${pending.id}::uuid, 'a', '1')`);
    expect(await cancelJob(conn.db, pending.id)).toMatchObject({ status: 'cancelled', cancelledAt: expect.any(String), cancelRequestedAt: null });
    expect(await select(conn.db, sql`select name from sluice.job_steps`)).toEqual([{ name: 'a' }]);
    expect(await jobResult(conn.db, pending.id)).toEqual({ status: 'cancelled' });
    await expect(cancelJob(conn.db, pending.id)).rejects.toBeInstanceOf(JobStateError);
    // Claims never see it.
    expect(await drain(conn.db, [idle], { budgetMs: 2_000 })).toMatchObject({ claimed: 0 });

    const dead = await enqueue(conn.db, idle, {});
    expect(await drain(conn.db, [idle], { budgetMs: 2_000 })).toMatchObject({ dead: 1 });
    expect(await cancelJob(conn.db, dead.id)).toMatchObject({ status: 'cancelled', deadAt: null });
    const bulk = await enqueue(conn.db, idle, {});
    await drain(conn.db, [idle], { budgetMs: 2_000 });
    expect(await cancelDeadJobs(conn.db)).toEqual({ count: 1, more: false });
    expect(await jobResult(conn.db, bulk.id)).toEqual({ status: 'cancelled' });
  });

  it('a running job\'s signal fires with JobCancelledError at its drain\'s next heartbeat; it ends cancelled, not retried, however its handler ends', async () => {
    const started = latch();
    const seen: unknown[] = [];
    const long = defineJob({
      type: 'long', payload: z.object({}), timeoutMs: 60_000,
      // Returns a value once stopped: the job still ends cancelled, with no result.
      handler: async (_, ctx) => {
        started.open();
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        seen.push(ctx.signal.reason);
        return 'finished anyway';
      },
    });
    const { id } = await enqueue(conn.db, long, {});
    const pass = drain(conn.db, [long], { budgetMs: 30_000, leaseGraceMs: 1_500 });
    await started.promise;
    expect(await cancelJob(conn.db, id)).toMatchObject({ status: 'running', cancelRequestedAt: expect.any(String) });
    expect(await pass).toMatchObject({ claimed: 1, cancelled: 1, completed: 0, retried: 0 });
    expect(seen).toEqual([expect.any(JobCancelledError)]);
    expect(await getJob(conn.db, id)).toMatchObject({ status: 'cancelled', attempts: 1, result: null, completedAt: null, lockedUntil: null });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'cancelled' });
  });

  it('a handler that throws once stopped is not retried either', async () => {
    const started = latch();
    const throws = defineJob({
      type: 'throws', payload: z.object({}), timeoutMs: 60_000,
      handler: async (_, ctx) => {
        started.open();
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        ctx.signal.throwIfAborted();
      },
    });
    const { id } = await enqueue(conn.db, throws, {});
    const pass = drain(conn.db, [throws], { budgetMs: 30_000, leaseGraceMs: 1_500 });
    await started.promise;
    await cancelJob(conn.db, id);
    expect(await pass).toMatchObject({ cancelled: 1, retried: 0 });
    expect(await jobRow(conn.db, id)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('a rescue of a cancel-requested job whose drain died ends it cancelled, not pending or dead', async () => {
    const job = defineJob({ type: 'orphan', payload: z.object({}), maxAttempts: 1, handler: async () => {} });
    const { id } = await enqueue(conn.db, job, {});
    // A drain claims it and dies (nothing renews its 1 s lease).
    await jobClaim(conn.db, { token: randomUUID(), limit: 1, types: ['orphan'], app: 'test', leaseMs: 1_000, outcomes: [], rescueLimit: 0, flow: null });
    expect(await cancelJob(conn.db, id)).toMatchObject({ status: 'running' });
    await waitFor('the lease to run out', async () => ((await jobRow(conn.db, id))!.lease_left_ms! < 0 ? true : undefined));
    expect(await drain(conn.db, [job], { budgetMs: 2_000 })).toMatchObject({ rescued: 1, dead: 0, retried: 0 });
    expect(await jobRow(conn.db, id)).toMatchObject({ status: 'cancelled', lock_token: null });
  });

  it('a cancel asked for after the run ended, before its outcome was written, still ends it cancelled', async () => {
    const job = defineJob({ type: 'late', payload: z.object({}), handler: async () => 1 });
    const { id } = await enqueue(conn.db, job, {});
    const token = randomUUID();
    await jobClaim(conn.db, { token, limit: 1, types: ['late'], app: 'test', leaseMs: 60_000, outcomes: [], rescueLimit: 0, flow: null });
    await cancelJob(conn.db, id);
    await jobClaim(conn.db, { token: randomUUID(), limit: 1, types: ['late'], app: 'test', leaseMs: 60_000, outcomes: [{ id, token, kind: 'done', result: '1' }], rescueLimit: 0, flow: null });
    expect(await getJob(conn.db, id)).toMatchObject({ status: 'cancelled', result: null });
  });
});
