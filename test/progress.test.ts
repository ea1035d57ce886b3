import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob } from '../lib/index.js';
import { serve, type NodeServer } from '../lib/adapters/node.js';
import type { Db } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { latch, waitFor } from './support/sql.js';

// Progress (ctx.progress) written with heartbeats, and a job followed over HTTP: its result and its events.
const ADMIN = 'progress-admin-secret-0123456789';
const ENQUEUE = 'progress-enqueue-secret-012345678';
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

/** The database, counting the statements sent through it. */
function counting(db: Db) {
  const counter = { statements: 0 };
  const counted = new Proxy(db, {
    get: (target, key, receiver) => {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'execute') return value;
      return (...args: unknown[]) => { counter.statements++; return (value as (...a: unknown[]) => unknown).apply(target, args); };
    },
  });
  return { db: counted, counter };
}

describe('ctx.progress', () => {
  it('keeps the latest of many calls and writes it with a heartbeat, not a statement per call; too large a value is a TypeError', async () => {
    const reported = latch();
    const finish = latch();
    let refused = '';
    const report = defineJob({
      type: 'report', payload: z.object({}), timeoutMs: 60_000,
      handler: async (_, ctx) => {
        for (let pct = 1; pct <= 1_000; pct++) await ctx.progress({ pct });
        try {
          await ctx.progress({ blob: 'x'.repeat(20_000) });
        } catch (error) {
          refused = `${(error as Error).name}: ${(error as Error).message}`;
        }
        reported.open();
        await finish.promise;
        return 'done';
      },
    });
    const sluice = createSluice({ jobs: [report], db: conn.db });
    const { id } = await sluice.enqueue(report, {});
    const { db, counter } = counting(conn.db);
    const instance = createSluice({ jobs: [report], db });
    const pass = instance.drain({ budgetMs: 30_000 });
    await reported.promise;
    await waitFor('the progress to be written', async () => (((await sluice.admin.get(id)).progress as { pct?: number } | null)?.pct === 1_000 ? true : undefined));
    // The claim, a heartbeat or two carrying the progress: not a thousand writes.
    expect(counter.statements).toBeLessThan(10);
    expect(refused).toBe('TypeError: ctx.progress() got 20011 bytes of JSON; the limit is 16384');
    finish.open();
    expect(await pass).toMatchObject({ completed: 1 });
    expect(await sluice.admin.get(id)).toMatchObject({ status: 'completed', result: 'done', progress: { pct: 1_000 } });
  });
});

describe('over HTTP', () => {
  const stages = latch();
  const release = latch();
  const staged = defineJob({
    type: 'staged', payload: z.object({}), timeoutMs: 60_000,
    result: z.object({ shipped: z.boolean() }),
    handler: async (_, ctx) => {
      await ctx.progress({ stage: 'packing' });
      stages.open();
      await release.promise;
      await ctx.progress({ stage: 'shipping' }); // written with the outcome, if no heartbeat wrote it first
      return { shipped: true };
    },
  });
  let server: NodeServer;
  let sluice: ReturnType<typeof createSluice<[typeof staged]>>;
  beforeAll(async () => {
    sluice = createSluice({ jobs: [staged], db: conn.db, settings: { ADMIN_SECRET: ADMIN, ENQUEUE_SECRET: ENQUEUE, SLUICE_KICK: false, SLUICE_AUTH_MAX_FAILURES: 0 } });
    server = await serve(sluice, { port: 0 });
  });
  afterAll(async () => { await server?.close(); });
  const get = (path: string, secret?: string) => fetch(`${server.url}${path}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });

  it('GET /api/jobs/:id/events streams progress as it changes and a last end event with the result; /result waits for it', async () => {
    const { id } = await sluice.enqueue(staged, {});
    const pass = sluice.drain({ budgetMs: 30_000 });
    await stages.promise;
    const res = await get(`/api/jobs/${id}/events`, ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const waited = get(`/api/jobs/${id}/result?timeoutMs=20000`, ENQUEUE);
    const events: { event: string; data: unknown }[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += decoder.decode(read.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        events.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
        if (event === 'progress' && events.length === 1) release.open();
      }
    }
    expect(events).toEqual([
      { event: 'progress', data: { stage: 'packing' } },
      { event: 'progress', data: { stage: 'shipping' } },
      { event: 'end', data: { status: 'completed', result: { shipped: true } } },
    ]);
    const result = await waited;
    expect(result.status).toBe(200);
    expect(await result.json()).toEqual({ status: 'completed', result: { shipped: true } });
    expect(await pass).toMatchObject({ completed: 1 });
    const job = await (await get(`/api/jobs/${id}`, ADMIN)).json();
    expect(job).toMatchObject({ status: 'completed', result: { shipped: true }, progress: { stage: 'shipping' }, completedAt: expect.any(String) });
  });

  it('answers 401 without the secret, 404 for an unknown job, 400 for a bad id or timeout, never 500', async () => {
    const unknown = randomUUID();
    expect((await get(`/api/jobs/${unknown}/events`)).status).toBe(401);
    expect((await get(`/api/jobs/${unknown}/events`, ENQUEUE)).status).toBe(401);
    expect((await get(`/api/jobs/${unknown}/events`, ADMIN)).status).toBe(404);
    expect((await get('/api/jobs/not-a-uuid/events', ADMIN)).status).toBe(400);
    expect((await get(`/api/jobs/${unknown}/result`)).status).toBe(401);
    expect((await get(`/api/jobs/${unknown}/result`, ENQUEUE)).status).toBe(404);
    expect((await get(`/api/jobs/${unknown}/result?timeoutMs=60000`, ENQUEUE)).status).toBe(400);
    expect((await get(`/api/jobs/${unknown}/result?wait=1`, ENQUEUE)).status).toBe(400);
    const { id } = await sluice.enqueue(staged, {});
    const pending = await get(`/api/jobs/${id}/result`, ENQUEUE);
    expect(await pending.json()).toEqual({ status: 'pending' });
    expect((await fetch(`${server.url}/api/jobs/${id}/events`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(405);
  });
});
