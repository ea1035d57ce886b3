import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelJob, ChildJobError, defineJob, drain, enqueue, jobResult, sendEvent, type JobDefinition } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { jobRow, select } from './support/sql.js';

// Deploys in the middle of a run: a job waits under one version of its code and resumes under the next.
// Replay is by name: a step, invoke or wait is found by its name, never by its place in the handler.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  for (const table of ['jobs', 'job_steps', 'events']) await conn.db.execute(sql.raw(`delete from sluice.${table}`));
});

const ran: string[] = [];
const step = (name: string) => async (ctx: Parameters<JobDefinition['handler']>[1]) => ctx.step(name, () => { ran.push(name); return name; });
const approval = (ctx: Parameters<JobDefinition['handler']>[1]) => ctx.waitForEvent('approval', { event: 'approved', key: ctx.job.id, timeoutMs: 3_600_000 });
const version = (handler: JobDefinition['handler']) => defineJob({ type: 'order', payload: z.object({}), handler });
const steps = (names: string[]) => async (ctx: Parameters<JobDefinition['handler']>[1]) => { for (const name of names) await step(name)(ctx); };

describe('a deploy while a job waits', () => {
  it('steps: a renamed one runs again under its new name, an added one runs when reached, a removed one is ignored', async () => {
    ran.length = 0;
    const v1 = version(async (_p, ctx) => { await steps(['reserve', 'charge', 'label'])(ctx); await approval(ctx); await steps(['ship'])(ctx); return 'v1'; });
    const { id } = await enqueue(conn.db, v1, {});
    await drain(conn.db, [v1], { budgetMs: 5_000 });
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    expect(ran).toEqual(['reserve', 'charge', 'label']);
    // The next version: 'charge' renamed 'charge-card', 'label' removed, 'notify' added before the wait.
    const v2 = version(async (_p, ctx) => { await steps(['reserve', 'charge-card', 'notify'])(ctx); await approval(ctx); await steps(['ship'])(ctx); return 'v2'; });
    await sendEvent(conn.db, 'approved', { key: id });
    await drain(conn.db, [v2], { budgetMs: 5_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: 'v2' });
    expect(ran).toEqual(['reserve', 'charge', 'label', 'charge-card', 'notify', 'ship']);
    // Every step's record stays with the completed run (its page shows them; a replay from one copies them),
    // the removed and renamed ones' too, until retention deletes the run.
    expect((await select<{ name: string }>(conn.db, sql`select name from sluice.job_steps where job_id = ${id}::uuid`)).map((r) => r.name).sort())
      .toEqual(['approval', 'charge', 'charge-card', 'label', 'notify', 'reserve', 'ship']);
  });

  it('invokes: a renamed one enqueues a new child and the old one runs to its end; a child whose type is gone waits until an operator cancels it, which rejects the invoke', async () => {
    const child = defineJob({ type: 'child', payload: z.object({ n: z.number() }), handler: async ({ n }) => n });
    const v1 = version(async (_p, ctx) => ctx.invoke('first', child, { n: 1 }));
    const { id } = await enqueue(conn.db, v1, {});
    // The parent's first run only: its child is enqueued, not yet run.
    await drain(conn.db, [v1, child], { budgetMs: 5_000, maxJobs: 1 });
    expect((await jobRow(conn.db, id))!.status).toBe('waiting');
    const v2 = version(async (_p, ctx) => ctx.invoke('renamed', child, { n: 2 }));
    await drain(conn.db, [v2, child], { budgetMs: 5_000 });
    expect(await jobResult(conn.db, id)).toEqual({ status: 'completed', result: 2 });
    const children = await select<{ parent_step: string; status: string; result: unknown }>(
      conn.db, sql`select parent_step, status, result from sluice.jobs where parent_id = ${id}::uuid order by parent_step`);
    expect(children).toEqual([{ parent_step: 'first', status: 'completed', result: 1 }, { parent_step: 'renamed', status: 'completed', result: 2 }]);

    // A version that no longer has the child's type: its drains leave the child pending, as any job of a
    // type gone from the code; an operator's cancel of it rejects the parent's invoke.
    const v3 = version(async (_p, ctx) => {
      try {
        return await ctx.invoke('third', child, { n: 3 });
      } catch (error) {
        return error instanceof ChildJobError ? `${error.status}: ${error.error}` : 'other';
      }
    });
    const second = await enqueue(conn.db, v3, {});
    await drain(conn.db, [v3, child], { budgetMs: 5_000, maxJobs: 1 });
    await drain(conn.db, [v3], { budgetMs: 5_000 });
    const [left] = await select<{ id: string; status: string }>(conn.db, sql`select id, status from sluice.jobs where parent_id = ${second.id}::uuid`);
    expect(left!.status).toBe('pending');
    await cancelJob(conn.db, left!.id);
    await drain(conn.db, [v3], { budgetMs: 5_000 });
    expect(await jobResult(conn.db, second.id)).toEqual({ status: 'completed', result: 'cancelled: null' });
  });
});
