import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChildJobError, defineJob, drain, enqueue, jobResult, PermanentError, type JobDefinition } from '../lib/queue/index.js';
import { jobClaim, jobWriteOutcomes } from '../lib/queue/core/queries-drain.js';
import { freshDatabase } from './support/db.js';
import { jobRow, select } from './support/sql.js';

// Child jobs, awaited: ctx.invoke enqueues a child once per parent and name, the parent waits without a
// run, and the child's end makes it due again.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); await conn.db.execute(sql`delete from sluice.job_steps`); });

const runs = new Map<string, number>();
const count = (what: string) => runs.set(what, (runs.get(what) ?? 0) + 1);

const charge = defineJob({
  type: 'charge',
  payload: z.object({ orderId: z.string(), cents: z.number().int() }),
  result: z.object({ chargeId: z.string() }),
  handler: async ({ orderId, cents }) => { count(`charge ${orderId}`); return { chargeId: `ch_${orderId}_${cents}` }; },
});
const pack = defineJob({
  type: 'pack',
  payload: z.object({ orderId: z.string(), box: z.number() }),
  handler: async ({ box }) => { count(`pack ${box}`); return { box, packed: true }; },
});
const failing = defineJob({
  type: 'failing',
  payload: z.object({}),
  maxAttempts: 1,
  handler: async () => { throw new PermanentError('out of stock'); },
});
const fulfil = defineJob({
  type: 'fulfil',
  payload: z.object({ orderId: z.string() }),
  handler: async ({ orderId }, ctx) => {
    count('fulfil run');
    const { chargeId } = await ctx.invoke('charge', charge, { orderId, cents: 500 });
    const [a, b] = await Promise.all([
      ctx.invoke('pack-1', pack, { orderId, box: 1 }),
      ctx.invoke('pack-2', pack, { orderId, box: 2 }),
    ]);
    return { chargeId, boxes: [a.box, b.box] };
  },
});
const careful = defineJob({
  type: 'careful',
  payload: z.object({}),
  handler: async (_p, ctx) => {
    try {
      await ctx.invoke('fail', failing, {});
      return 'not reached';
    } catch (error) {
      return error instanceof ChildJobError ? `caught: ${error.status}: ${error.error}` : `other: ${String(error)}`;
    }
  },
});
// One at a time, across every drain: a parent waiting for its child (of the same type) must not hold the slot.
const nested: JobDefinition<z.ZodObject<{ depth: z.ZodNumber }>, 'nested', number> = defineJob({
  type: 'nested',
  payload: z.object({ depth: z.number() }),
  concurrency: { limit: 1 },
  handler: async ({ depth }, ctx): Promise<number> => (depth === 0 ? 0 : 1 + (await ctx.invoke('inner', nested, { depth: depth - 1 }))),
});
const jobs = [charge, pack, failing, fulfil, careful, nested];

describe('ctx.invoke', () => {
  it('runs children once each, fans in with Promise.all, and resumes the parent with typed results in one drain', async () => {
    runs.clear();
    const { id } = await enqueue(conn.db, fulfil, { orderId: 'o1' });
    const summary = await drain(conn.db, jobs, { budgetMs: 10_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: { chargeId: 'ch_o1_500', boxes: [1, 2] } });
    expect(runs.get('charge o1')).toBe(1);
    expect(runs.get('pack 1')).toBe(1);
    expect(runs.get('pack 2')).toBe(1);
    // Three runs of the parent: the first enqueues the charge, the second both boxes, the third ends.
    expect(runs.get('fulfil run')).toBe(3);
    expect(summary).toMatchObject({ waiting: 2, completed: 4 });
    const children = await select<{ parent_step: string; status: string }>(conn.db, sql`select parent_step, status from sluice.jobs where parent_id = ${id}::uuid order by parent_step`);
    expect(children).toEqual([
      { parent_step: 'charge', status: 'completed' }, { parent_step: 'pack-1', status: 'completed' }, { parent_step: 'pack-2', status: 'completed' },
    ]);
  });

  it('a waiting parent holds no lease, and its status says waiting until its child ends', async () => {
    runs.clear();
    const { id } = await enqueue(conn.db, fulfil, { orderId: 'o2' });
    // One job at most: the parent's first run only.
    await drain(conn.db, jobs, { budgetMs: 10_000, maxJobs: 1 });
    const parent = await jobRow(conn.db, id);
    expect(parent).toMatchObject({ status: 'waiting', lock_token: null, attempts: 0 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'waiting' });
    await drain(conn.db, jobs, { budgetMs: 10_000 });
    expect(await jobResult(conn.db, id)).toMatchObject({ status: 'completed' });
  });

  it('a dead child rejects the invoke with a ChildJobError the parent can catch', async () => {
    const { id } = await enqueue(conn.db, careful, {});
    await drain(conn.db, jobs, { budgetMs: 10_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: 'caught: dead: PermanentError: out of stock' });
  });

  it('a waiting parent gives back its concurrency slot: a child of a type limited to one at a time still runs', async () => {
    const { id } = await enqueue(conn.db, nested, { depth: 3 });
    await drain(conn.db, jobs, { budgetMs: 10_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: 3 });
    expect(await select(conn.db, sql`select 1 from sluice.flow_slots where limiter = 'concurrency' and held_until > now()`)).toEqual([]);
  });

  it('refuses a child type the app does not have, before anything is enqueued', async () => {
    const stranger = defineJob({ type: 'stranger', payload: z.object({}), handler: async () => {} });
    const asks = defineJob({ type: 'asks', payload: z.object({}), maxAttempts: 1, handler: async (_p, ctx) => { await ctx.invoke('x', stranger, {}); } });
    const { id } = await enqueue(conn.db, asks, {});
    await drain(conn.db, [asks], { budgetMs: 5_000 });
    expect((await jobRow(conn.db, id))!.last_error).toMatch(/job type "stranger" is not one of this app's jobs/);
    expect(await select(conn.db, sql`select 1 from sluice.jobs where type = 'stranger'`)).toEqual([]);
  });

  it('a child\'s end reaches its waiting parent when a stale outcome of the parent rides in the same statement', async () => {
    // A drain listed the parent's lease as expired (its run's drain was frozen); the run then wrote its
    // wait, and the rescue, now stale, goes out with the child's outcome: it changes nothing, so the
    // delivery must not be left out for it.
    const { id } = await enqueue(conn.db, fulfil, { orderId: 'o3' });
    await drain(conn.db, jobs, { budgetMs: 10_000, maxJobs: 1 });
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    const token = randomUUID();
    const { jobs: [child] } = await jobClaim(conn.db, { token, limit: 1, types: ['charge'], app: 'test', leaseMs: 60_000, outcomes: [], rescueLimit: 0, flow: null });
    const written = await jobWriteOutcomes(conn.db, [
      { id, token: randomUUID(), kind: 'retry', delay_ms: 0, error: 'lease expired', rescue: true },
      { id: child!.id, token, kind: 'done', result: JSON.stringify({ chargeId: 'ch_o3_500' }) },
    ]);
    expect(written).toEqual({ written: 1, delivered: 1 });
    expect((await jobRow(conn.db, id))!.status).toBe('pending');
    await drain(conn.db, jobs, { budgetMs: 10_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: { chargeId: 'ch_o3_500', boxes: [1, 2] } });
  });
});
