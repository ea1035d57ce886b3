import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelDeadJobs, cancelJob, defineJob, drain, enqueue, jobResult, sendEvent, ValidationError } from '../lib/queue/index.js';
import { randomUUID } from 'node:crypto';
import { createSluice, memoryHintStore } from '../lib/index.js';
import { jobClaim } from '../lib/queue/core/queries-drain.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { jobRow, select } from './support/sql.js';

// Events: ctx.waitForEvent resumes with the data of an event sent at any time since the job was enqueued,
// once; a wait past its timeout resolves null; a cancel takes a waiting job and its children.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  for (const table of ['jobs', 'job_steps', 'events']) await conn.db.execute(sql.raw(`delete from sluice.${table}`));
});

let runs = 0;
const approve = defineJob({
  type: 'approve',
  payload: z.object({ orderId: z.string() }),
  handler: async ({ orderId }, ctx) => {
    runs++;
    const first = await ctx.waitForEvent<{ by: string }>('approval', { event: 'order.approved', key: orderId, timeoutMs: 86_400_000 });
    const second = await ctx.waitForEvent<{ by: string }>('second approval', { event: 'order.approved', key: orderId, timeoutMs: 86_400_000 });
    return { first: first?.by ?? null, second: second?.by ?? null };
  },
});
const brief = defineJob({
  type: 'brief',
  payload: z.object({}),
  handler: async (_p, ctx) => ({ got: await ctx.waitForEvent('ping', { event: 'ping', timeoutMs: 3_600_000 }) }),
});
const slow = defineJob({ type: 'slow', payload: z.object({}), handler: async (_p, ctx) => ctx.waitForEvent('never', { event: 'never', timeoutMs: 60_000 }) });
const parent = defineJob({
  type: 'parent',
  payload: z.object({}),
  handler: async (_p, ctx) => ctx.invoke('child', slow, {}),
});
const jobs = [approve, brief, slow, parent];

describe('events', () => {
  it('resume a waiting job with the event\'s data; each event is taken by one wait of a job, in send order', async () => {
    runs = 0;
    const { id } = await enqueue(conn.db, approve, { orderId: 'o1' });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await select(conn.db, sql`select status, wait_for from sluice.jobs where id = ${id}::uuid`)).toEqual([{ status: 'waiting', wait_for: ['order.approved\u0001o1'] }]);
    // Another key wakes nothing.
    expect(await sendEvent(conn.db, 'order.approved', { key: 'o2', data: { by: 'eve' } })).toMatchObject({ delivered: 0 });
    expect(await sendEvent(conn.db, 'order.approved', { key: 'o1', data: { by: 'ada' } })).toMatchObject({ delivered: 1 });
    expect((await jobRow(conn.db, id))!.status).toBe('pending');
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    // The first wait took ada's event; the second waits for another one.
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    await sendEvent(conn.db, 'order.approved', { key: 'o1', data: { by: 'bob' } });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: { first: 'ada', second: 'bob' } });
  });

  it('are not missed when sent before the job reached its wait (even in the enqueue\'s transaction), and the same event sent twice resumes a wait once', async () => {
    runs = 0;
    const id = await conn.db.transaction(async (tx) => {
      const job = await enqueue(tx, approve, { orderId: 'o3' });
      await sendEvent(tx, 'order.approved', { key: 'o3', data: { by: 'ada' } });
      return job.id;
    });
    await sendEvent(conn.db, 'order.approved', { key: 'o3', data: { by: 'ada' } });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: { first: 'ada', second: 'ada' } });
    expect(runs).toBe(1);
    // Sent before the job was enqueued: not its event.
    await sendEvent(conn.db, 'order.approved', { key: 'o4', data: { by: 'early' } });
    const late = await enqueue(conn.db, approve, { orderId: 'o4' });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect((await jobRow(conn.db, late.id))!.status).toBe('waiting');
  });

  it('an event sent in a transaction that rolls back was never sent', async () => {
    const { id } = await enqueue(conn.db, approve, { orderId: 'o5' });
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    await expect(conn.db.transaction(async (tx) => {
      await sendEvent(tx, 'order.approved', { key: 'o5', data: { by: 'ghost' } });
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    expect(await select(conn.db, sql`select 1 from sluice.events`)).toEqual([]);
  });

  it('a wait past its timeout resolves null: the cron tick makes the job due once its deadline has passed', async () => {
    const { id } = await enqueue(conn.db, brief, {});
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    // An hour later, as far as the wait's record and the job's deadline say.
    await conn.db.execute(sql`update sluice.job_steps set result = jsonb_build_object('until', 0) where job_id = ${id}::uuid`);
    await conn.db.execute(sql`update sluice.jobs set run_after = now() - interval '1 second' where id = ${id}::uuid`);
    const sluice = createSluice({ jobs, db: conn.db, hints: memoryHintStore(), settings: { ...SECRETS, SLUICE_IDLE_CHECK_MS: 0, SLUICE_KICK: false } });
    const tick = await sluice.wake({ reason: 'tick', deadline: Date.now() + 5_000, runtime: { waitUntil: () => {}, runsAfterResponse: true } });
    expect(tick).toMatchObject({ completed: 1 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: { got: null } });
  });

  it('a wait\'s deadline is what an empty claim reports as next due, for the idle hint', async () => {
    await enqueue(conn.db, brief, {});
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    const claim = await jobClaim(conn.db, { token: randomUUID(), limit: 10, types: ['brief'], app: 'events', leaseMs: 30_000, outcomes: [], rescueLimit: 0, flow: null });
    expect(claim.jobs).toEqual([]);
    // About an hour ahead (brief waits an hour), not null: a tick then reads the database.
    expect(claim.next_due_ms).toBeGreaterThan(3_500_000);
    expect(claim.next_due_ms).toBeLessThanOrEqual(3_600_000);
  });

  it('refuse a bad name, key or data with a ValidationError', async () => {
    await expect(sendEvent(conn.db, '', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(sendEvent(conn.db, 'x', { key: 'a\u0001b' })).rejects.toBeInstanceOf(ValidationError);
    await expect(sendEvent(conn.db, 'x', { data: { big: 'x'.repeat(300_000) } })).rejects.toThrow(/bytes/);
  });
});

describe('cancel', () => {
  it('takes a waiting parent and its unfinished children', async () => {
    const { id } = await enqueue(conn.db, parent, {});
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    const [child] = await select<{ id: string; status: string }>(conn.db, sql`select id, status from sluice.jobs where parent_id = ${id}::uuid`);
    expect(child!.status).toBe('waiting');
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    await cancelJob(conn.db, id);
    expect((await jobRow(conn.db, id))!.status).toBe('cancelled');
    expect((await jobRow(conn.db, child!.id))!.status).toBe('cancelled');
  });

  it('of a child rejects its parent\'s invoke at once', async () => {
    const { id } = await enqueue(conn.db, parent, {});
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    const [child] = await select<{ id: string }>(conn.db, sql`select id from sluice.jobs where parent_id = ${id}::uuid`);
    await cancelJob(conn.db, child!.id);
    expect((await jobRow(conn.db, id))!.status).toBe('pending');
    await drain(conn.db, jobs, { budgetMs: 5_000 });
    expect((await jobRow(conn.db, id))!.last_error).toMatch(/ChildJobError: child job .* is cancelled/);
  });

  it('of every dead job at once takes their unfinished children, at any depth', async () => {
    const [parent] = await select<{ id: string }>(conn.db, sql`insert into sluice.jobs (type, payload, status, dead_at) values ('parent', '{}', 'dead', now()) returning id`);
    const [child] = await select<{ id: string }>(conn.db, sql`insert into sluice.jobs (type, payload, status, awaited, parent_id, parent_step)
      values ('parent', '{}', 'waiting', true, ${parent!.id}::uuid, 'child') returning id`);
    const [grandchild] = await select<{ id: string }>(conn.db, sql`insert into sluice.jobs (type, payload, awaited, parent_id, parent_step)
      values ('slow', '{}', true, ${child!.id}::uuid, 'child') returning id`);
    expect(await cancelDeadJobs(conn.db, { type: 'parent' })).toMatchObject({ count: 1 });
    for (const id of [parent!.id, child!.id, grandchild!.id]) expect((await jobRow(conn.db, id))!.status).toBe('cancelled');
  });
});
