import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, getJob, type Db } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { runProcess } from './support/processes.js';
import { countJobs, jobRow, select, waitFor } from './support/sql.js';

// Durable steps (issue 11): a step runs once per job, its result replayed by later runs.
const CHILD = new URL('./fixtures/steps-child.ts', import.meta.url).pathname;
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  conn = await freshDatabase('pg');
  await conn.db.execute(sql`create table effects (job_id uuid not null, step text not null)`);
});
afterAll(async () => { await conn?.close(); });
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.job_steps`);
  await conn.db.execute(sql`delete from effects`);
});
const steps = (id: string) => select<{ name: string; result: unknown }>(conn.db, sql`select name, result from sluice.job_steps where job_id = ${id}::uuid order by finished_at, name`);

describe('ctx.step', () => {
  it('a drain killed after step 2 leaves steps 1 and 2 done: the next drain runs step 3 only', async () => {
    const { id } = await enqueue(conn.db, defineJob({ type: 'three-steps', payload: z.object({}), handler: async () => {} }), {});
    const out = await runProcess(CHILD, { DATABASE_URL: conn.url, DRIVER: 'pg' }, (line, kill) => line === 'step 2' && kill());
    expect(out).toEqual(['step 1', 'step 2']);
    expect(await steps(id)).toEqual([{ name: 'step-1', result: 1 }, { name: 'step-2', result: 2 }]);
    const ran: number[] = [];
    const replayed: number[] = [];
    const threeSteps = defineJob({
      type: 'three-steps', payload: z.object({}), timeoutMs: 5_000,
      handler: async (_, ctx) => {
        for (const n of [1, 2, 3]) replayed.push(await ctx.step(`step-${n}`, async () => { ran.push(n); return n; }));
      },
    });
    // The killed drain's lease (1 s grace) runs out; a drain rescues the job, and a later one runs it.
    await waitFor('the job to finish', async () => {
      await drain(conn.db, [threeSteps], { budgetMs: 2_000, leaseGraceMs: 1_000 });
      return (await countJobs(conn.db)) === 0 ? true : undefined;
    });
    expect(ran).toEqual([3]);
    expect(replayed).toEqual([1, 2, 3]);
    // Steps go with their job.
    expect(await steps(id)).toEqual([]);
  });

  it('a job of 20 one-second steps completes across drains of 5 s, without spending an attempt per drain', async () => {
    const attempts: number[] = [];
    const long = defineJob({
      type: 'twenty-steps', payload: z.object({}), maxAttempts: 2, timeoutMs: 60_000,
      handler: async (_, ctx) => {
        attempts.push(ctx.job.attempt);
        for (let n = 1; n <= 20; n++) await ctx.step(`s${n}`, () => new Promise((r) => setTimeout(() => r(n), 1_000)));
      },
    });
    const { id } = await enqueue(conn.db, long, {});
    const passes = [];
    while ((await countJobs(conn.db)) > 0 && passes.length < 10) passes.push(await drain(conn.db, [long], { budgetMs: 5_000 }));
    expect(await countJobs(conn.db)).toBe(0);
    expect(passes.length).toBeGreaterThanOrEqual(5); // 20 s of steps in 5 s drains
    // Every run but the last was handed back with its attempt returned: each one is attempt 1.
    expect(attempts.every((a) => a === 1)).toBe(true);
    expect(passes.slice(0, -1).every((p) => p.released === 1 && p.retried === 0 && p.dead === 0)).toBe(true);
    expect(await steps(id)).toEqual([]);
  });

  it('with a transaction, writes the step\'s effect and its mark together: a lost lease undoes the write', async () => {
    const other = freshDatabase.reconnect(conn.url, 'pg');
    try {
      const stolen = defineJob({
        type: 'stolen', payload: z.object({}), maxAttempts: 1,
        handler: async (_, ctx) => {
          await ctx.step('write', async (tx: Db) => {
            await tx.execute(sql`insert into effects (job_id, step) values (${ctx.job.id}::uuid, 'write')`);
            // Another drain rescues the job meanwhile (its token changes) before this step is marked.
            await other.db.execute(sql`update sluice.jobs set lock_token = gen_random_uuid() where id = ${ctx.job.id}::uuid`);
          }, { transaction: true });
        },
      });
      const { id } = await enqueue(conn.db, stolen, {});
      await drain(conn.db, [stolen], { budgetMs: 2_000 });
      expect(await select(conn.db, sql`select * from effects`)).toEqual([]);
      expect(await steps(id)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('returns what replays will see, refuses a name used twice in a run, and bounds results', async () => {
    const seen: unknown[] = [];
    const job = defineJob({
      type: 'shapes', payload: z.object({ case: z.string() }), maxAttempts: 1,
      handler: async (p, ctx) => {
        if (p.case === 'date') seen.push(await ctx.step('when', () => ({ at: new Date(0), skip: undefined })));
        if (p.case === 'twice') { await ctx.step('a', () => 1); await ctx.step('a', () => 2); }
        if (p.case === 'huge') await ctx.step('big', () => 'x'.repeat(300 * 1024));
      },
    });
    await enqueue(conn.db, job, { case: 'date' });
    const twice = await enqueue(conn.db, job, { case: 'twice' });
    const huge = await enqueue(conn.db, job, { case: 'huge' });
    await drain(conn.db, [job], { budgetMs: 2_000 });
    expect(seen).toEqual([{ at: '1970-01-01T00:00:00.000Z' }]);
    expect((await jobRow(conn.db, twice.id))!.last_error).toMatch(/step "a" is used twice in one run/);
    const hugeRow = (await jobRow(conn.db, huge.id))!;
    expect(hugeRow.status).toBe('dead');
    expect(hugeRow.last_error).toMatch(/step "big" returned \d+ bytes of JSON; the limit is 262144/);
  });

  it('shows a job\'s finished steps in its admin detail', async () => {
    const job = defineJob({
      type: 'half', payload: z.object({}), maxAttempts: 3,
      handler: async (_, ctx) => { await ctx.step('fetched', () => ({ rows: 2 })); throw new Error('then failed'); },
    });
    const { id } = await enqueue(conn.db, job, {});
    await drain(conn.db, [job], { budgetMs: 2_000 });
    const view = await getJob(conn.db, id);
    expect(view.steps).toEqual([{ name: 'fetched', result: { rows: 2 }, finishedAt: expect.any(String), durationMs: expect.any(Number) }]);
    expect(view.attemptLog).toMatchObject([{ attempt: 1, outcome: 'retried', error: expect.stringContaining('then failed') }]);
  });
});

describe('ctx.sleep', () => {
  it('frees the drain and resumes the job later, attempt returned, its earlier steps not repeated', async () => {
    const log: string[] = [];
    const job = defineJob({
      type: 'sleeper', payload: z.object({}),
      handler: async (_, ctx) => {
        await ctx.step('before', () => log.push(`before ${ctx.job.attempt}`));
        await ctx.sleep('nap', 800);
        log.push(`after ${ctx.job.attempt}`);
      },
    });
    const { id } = await enqueue(conn.db, job, {});
    const first = await drain(conn.db, [job], { budgetMs: 3_000 });
    expect(first).toMatchObject({ completed: 0, released: 1, stoppedBy: 'empty' });
    const row = (await jobRow(conn.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row.due_in_ms).toBeGreaterThan(0);
    while ((await countJobs(conn.db)) > 0) await drain(conn.db, [job], { budgetMs: 3_000 });
    expect(log).toEqual(['before 1', 'after 1']);
  });
});

describe('an unknown type', () => {
  it('stays pending, attempts untouched, and is counted in the stats', async () => {
    await conn.db.execute(sql`insert into sluice.jobs (type, payload) values ('from-a-newer-deploy', '{}')`);
    const known = defineJob({ type: 'known', payload: z.object({}), handler: async () => {} });
    await enqueue(conn.db, known, {});
    const pass = await drain(conn.db, [known], { budgetMs: 2_000 });
    expect(pass).toMatchObject({ claimed: 1, completed: 1, dead: 0 });
    expect(await select(conn.db, sql`select type, status, attempts from sluice.jobs`)).toEqual([{ type: 'from-a-newer-deploy', status: 'pending', attempts: 0 }]);
  });
});
