import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  completedPrune, defineJob, drain, enqueue, exportJobs, getJob, JobStateError, listJobs, replayJob, replayJobs, retryJob, UnknownJobTypeError, ValidationError,
} from '../lib/queue/index.js';
import { createSluice } from '../lib/index.js';
import { freshDatabase } from './support/db.js';
import { countJobs, select } from './support/sql.js';

// Run history: completed runs kept, each attempt's error, replays, and the runs browser's filters.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs, sluice.job_steps`); });

const ran: string[] = [];
const email = defineJob({ type: 'email', payload: z.object({ to: z.string() }), handler: async ({ to }) => { ran.push(to); } });
let failuresLeft = 0;
const flaky = defineJob({
  type: 'flaky', payload: z.object({}), maxAttempts: 3, backoff: { baseMs: 1, maxMs: 1 },
  handler: async () => { if (failuresLeft-- > 0) throw new Error(`failure ${failuresLeft + 1}`); return 'ok'; },
});
const stepped = defineJob({
  type: 'stepped', payload: z.object({ n: z.number() }),
  handler: async ({ n }, ctx) => {
    const a = await ctx.step('a', async () => { ran.push(`a${n}`); return 1; });
    const b = await ctx.step('b', async () => { ran.push(`b${n}`); return 2; });
    const c = await ctx.step('c', async () => { ran.push(`c${n}`); return 3; });
    return a + b + c;
  },
});
const jobs = [email, flaky, stepped];
const drained = () => drain(conn.db, jobs, { budgetMs: 5_000, keepCompleted: true });

describe('completed runs', () => {
  it('are kept with their timing, steps and durations; with retention off, deleted as before', async () => {
    const { id } = await enqueue(conn.db, stepped, { n: 1 });
    expect(await drained()).toMatchObject({ completed: 1 });
    const job = await getJob(conn.db, id);
    expect(job).toMatchObject({ status: 'completed', result: 6, attemptLog: [{ attempt: 1, outcome: 'completed', error: null }], replayOf: null });
    expect(job.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(job.steps.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(job.steps.every((s) => typeof s.durationMs === 'number')).toBe(true);
    expect((await listJobs(conn.db, { status: 'completed' })).jobs.map((j) => j.id)).toEqual([id]);

    await enqueue(conn.db, email, { to: 'x' });
    await drain(conn.db, jobs, { budgetMs: 5_000, keepCompleted: false });
    expect(await countJobs(conn.db)).toBe(1); // the email's row went as it completed
  });

  it('keep every attempt: its start, end and error, the last one from the row, a human retry between them', async () => {
    failuresLeft = 2;
    const { id } = await enqueue(conn.db, flaky, {});
    for (let i = 0; i < 3; i++) { await drained(); await conn.db.execute(sql`update sluice.jobs set run_after = now() where id = ${id}`); }
    const job = await getJob(conn.db, id);
    expect(job.status).toBe('completed');
    expect(job.attemptLog.map((a) => [a.attempt, a.outcome, a.error?.replace(/^.*Error: /, '') ?? null])).toEqual([
      [1, 'retried', 'failure 2'], [2, 'retried', 'failure 1'], [3, 'completed', null],
    ]);
    for (const a of job.attemptLog) expect(+new Date(a.endedAt!)).toBeGreaterThanOrEqual(+new Date(a.startedAt!));

    // Dead after 3, retried by a human, completed: all four attempts show.
    failuresLeft = 3;
    const dead = await enqueue(conn.db, flaky, {});
    for (let i = 0; i < 3; i++) { await drained(); await conn.db.execute(sql`update sluice.jobs set run_after = now() where id = ${dead.id}`); }
    expect((await getJob(conn.db, dead.id)).status).toBe('dead');
    await retryJob(conn.db, dead.id);
    failuresLeft = 0;
    await drained();
    expect((await getJob(conn.db, dead.id)).attemptLog.map((a) => a.outcome)).toEqual(['retried', 'retried', 'dead', 'completed']);
  });

  it('are pruned past retention with their steps, a batch at a time, other types and other statuses untouched', async () => {
    const { id } = await enqueue(conn.db, stepped, { n: 2 });
    await enqueue(conn.db, email, { to: 'y' });
    await drained();
    await enqueue(conn.db, email, { to: 'pending' });
    await conn.db.execute(sql`update sluice.jobs set completed_at = now() - interval '8 days' where status = 'completed'`);
    expect(await completedPrune(conn.db, { types: ['stepped'], completedRetentionMs: 7 * 86_400_000, resultRetentionMs: 7 * 86_400_000, limit: 10 })).toBe(1);
    expect(await select(conn.db, sql`select count(*)::int as n from sluice.job_steps where job_id = ${id}`)).toEqual([{ n: 0 }]);
    expect(await completedPrune(conn.db, { types: ['email'], completedRetentionMs: 9 * 86_400_000, resultRetentionMs: 0, limit: 10 })).toBe(0);
    expect(await completedPrune(conn.db, { types: ['email'], completedRetentionMs: 7 * 86_400_000, resultRetentionMs: 0, limit: 10 })).toBe(1);
    expect(await countJobs(conn.db)).toBe(1);
  });
});

describe('replay', () => {
  it('runs an ended job again as a new job linked to it; from a step, the steps before it are kept', async () => {
    const { id } = await enqueue(conn.db, stepped, { n: 3 });
    await drained();
    ran.length = 0;
    const again = await replayJob(conn.db, id);
    expect(again).toMatchObject({ status: 'pending', type: 'stepped', payload: { n: 3 }, replayOf: id });
    const fromB = await replayJob(conn.db, id, { fromStep: 'b' });
    await drained();
    expect(ran.filter((r) => r.endsWith('3')).sort()).toEqual(['a3', 'b3', 'b3', 'c3', 'c3']); // the second replay skipped a
    expect(await getJob(conn.db, fromB.id)).toMatchObject({ status: 'completed', result: 6, replayOf: id });
    expect((await getJob(conn.db, id)).replays.map((r) => r.id)).toEqual([again.id, fromB.id]);

    await expect(replayJob(conn.db, id, { fromStep: 'zz' })).rejects.toBeInstanceOf(ValidationError);
    await expect(replayJob(conn.db, id, { types: ['email'] })).rejects.toBeInstanceOf(UnknownJobTypeError);
    const pending = await enqueue(conn.db, email, { to: 'p' });
    await expect(replayJob(conn.db, pending.id)).rejects.toBeInstanceOf(JobStateError);
  });

  it('in bulk by a filter: the ended jobs of a status and type', async () => {
    for (const to of ['a', 'b', 'c']) await enqueue(conn.db, email, { to });
    await drained();
    expect(await replayJobs(conn.db, { status: 'completed', type: 'email' })).toEqual({ count: 3, more: false });
    expect(await replayJobs(conn.db, { status: 'completed', type: 'email' })).toEqual({ count: 0, more: false }); // each once
    await drained(); // the replays complete: they are not taken by the same filter either
    expect(await replayJobs(conn.db, { status: 'completed', type: 'email' })).toEqual({ count: 0, more: false });
    expect((await listJobs(conn.db, { status: 'pending', type: 'email' })).jobs.every((j) => j.replayOf !== null)).toBe(true);
    await expect(replayJobs(conn.db, { status: 'pending' } as never)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('the runs browser', () => {
  it('lists by status newest first with cursor paging, and by type, time range, idempotency key and id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await enqueue(conn.db, email, { to: `u${i}` }, { idempotencyKey: `k${i}` })).id);
    // One outcome statement completes them all: they share a completed_at, and pages must not cut the tie.
    await drained();
    expect(new Set((await listJobs(conn.db, { status: 'completed' })).jobs.map((j) => j.completedAt)).size).toBeLessThan(7);
    await enqueue(conn.db, stepped, { n: 9 });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobs(conn.db, { status: 'completed', limit: 3, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const times = await Promise.all(seen.map(async (id) => +new Date((await getJob(conn.db, id)).completedAt!)));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    expect((await listJobs(conn.db, { idempotencyKey: 'k3' })).jobs.map((j) => j.id)).toEqual([ids[3]]);
    expect((await listJobs(conn.db, { id: ids[5] })).jobs.map((j) => j.id)).toEqual([ids[5]]);
    expect((await listJobs(conn.db, { status: 'pending' })).jobs.map((j) => j.type)).toEqual(['stepped']);
    expect((await listJobs(conn.db, {})).jobs[0]!.type).toBe('stepped'); // no status: newest enqueued first
    expect((await listJobs(conn.db, { status: 'completed', from: new Date(Date.now() + 60_000).toISOString() })).jobs).toEqual([]);
    expect((await listJobs(conn.db, { status: 'completed', type: 'stepped' })).jobs).toEqual([]);
    await expect(listJobs(conn.db, { status: 'dead', cursor: (await listJobs(conn.db, { status: 'completed', limit: 1 })).nextCursor! })).rejects.toBeInstanceOf(ValidationError);
    await expect(listJobs(conn.db, { from: 'yesterday' })).rejects.toBeInstanceOf(ValidationError);
    await expect(listJobs(conn.db, { from: '0000-01-01T00:00:00Z' })).rejects.toBeInstanceOf(ValidationError);
    const forged = Buffer.from(JSON.stringify(['completed', 'x', 'y'])).toString('base64url');
    await expect(listJobs(conn.db, { status: 'completed', cursor: forged })).rejects.toBeInstanceOf(ValidationError);
    expect((await listJobs(conn.db, { idempotencyKey: 'k3', limit: 1 })).nextCursor).toBeNull();

    // Ties cut by a page, their ids out of the time order: two newer runs, then five sharing one time.
    const tied = (await select<{ id: string }>(conn.db, sql`select id from sluice.jobs where status = 'completed' order by id`)).map((r) => r.id);
    // One at a time, newest id first: rows of one time sit in the index in the order they were written.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    for (const id of [...tied].reverse()) await conn.db.execute(sql`update sluice.jobs set completed_at = ${hourAgo}::timestamptz where id = ${id}::uuid`);
    await conn.db.execute(sql`update sluice.jobs set completed_at = now() where id = any(${`{${tied[0]},${tied[1]}}`}::uuid[])`);
    const paged: string[] = [];
    cursor = undefined;
    do {
      const page = await listJobs(conn.db, { status: 'completed', limit: 3, cursor });
      paged.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual([tied[1], tied[0], ...tied.slice(2).reverse()]);

    const exported: string[] = [];
    for await (const job of exportJobs(conn.db, { status: 'completed' })) exported.push(job.id);
    expect(exported).toEqual(paged);
  });
});

describe('an instance', () => {
  it('keeps completed runs by default, replays one, and its tick prunes those past SLUICE_COMPLETED_RETENTION; 0 keeps none', async () => {
    const sluice = createSluice({ jobs: [email, stepped], db: conn.db, settings: { SLUICE_KICK: false } });
    const runtime = { waitUntil: () => {}, runsAfterResponse: true };
    const { id } = await sluice.enqueue(email, { to: 'kept' });
    await sluice.drain();
    expect((await sluice.admin.list({ status: 'completed' })).jobs.map((j) => j.id)).toEqual([id]);
    const replay = await sluice.admin.replay(id);
    await expect(sluice.admin.replay(id, { fromStep: 'none' })).rejects.toBeInstanceOf(ValidationError);
    // The original ages past retention; a tick that runs the replay prunes it (and only it).
    await conn.db.execute(sql`update sluice.jobs set completed_at = now() - interval '8 days' where id = ${id}`);
    await sluice.wake({ reason: 'tick', deadline: Date.now() + 5_000, runtime });
    expect((await sluice.admin.list({ status: 'completed' })).jobs.map((j) => j.id)).toEqual([replay.id]);
    // An idle tick (nothing due) prunes too, once the minute's housekeeping finds a run past retention.
    await conn.db.execute(sql`update sluice.jobs set completed_at = now() - interval '8 days' where id = ${replay.id}`);
    await conn.db.execute(sql`delete from sluice.queue_samples`);
    // (A fresh instance: this one's idle hint lets its next ticks skip the database altogether.)
    const later = createSluice({ jobs: [email, stepped], db: conn.db, settings: { SLUICE_KICK: false } });
    expect(await later.wake({ reason: 'tick', deadline: Date.now() + 5_000, runtime })).toMatchObject({ claimed: 0 });
    expect((await sluice.admin.list({ status: 'completed' })).jobs).toEqual([]);

    const deleting = createSluice({ jobs: [email, stepped], db: conn.db, settings: { SLUICE_KICK: false, SLUICE_COMPLETED_RETENTION: 0 } });
    const gone = await deleting.enqueue(email, { to: 'gone' });
    await deleting.drain();
    expect((await deleting.admin.list({ id: gone.id })).jobs).toEqual([]);
  });
});
