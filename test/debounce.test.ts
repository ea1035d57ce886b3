import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, ValidationError } from '../lib/index.js';
import { drain, enqueue, enqueueMany } from '../lib/queue/index.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { startWakeApp } from './support/wake.js';
import { countJobs, select } from './support/sql.js';

// Debounce (issue 10): one pending job per type and key, with the latest payload, started windowMs after the last enqueue.
const sync = defineJob({ type: 'sync-account', payload: z.object({ v: z.number() }), handler: async () => {} });
const other = defineJob({ type: 'reindex', payload: z.object({ v: z.number() }), handler: async () => {} });
const debounce = { key: 'account:7', windowMs: 60_000 };
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

const pending = () => select<{ payload: { v: number }; wait_s: number }>(conn.db,
  sql`select payload, extract(epoch from run_after - now())::float8 as wait_s from sluice.jobs where status = 'pending' order by id`);

describe('debounce', () => {
  it('keeps one pending job with the last payload, started windowMs after the last enqueue', async () => {
    const first = await enqueue(conn.db, sync, { v: 1 }, { debounce });
    for (const v of [2, 3, 4]) {
      expect(await enqueue(conn.db, sync, { v }, { debounce })).toEqual({ id: first.id, duplicate: true });
    }
    const [job] = await pending();
    expect(await countJobs(conn.db)).toBe(1);
    expect(job!.payload).toEqual({ v: 4 });
    expect(job!.wait_s).toBeGreaterThan(55);
    expect(job!.wait_s).toBeLessThanOrEqual(60);
  });

  it('keeps one job when 20 enqueues of a key race, in bulks too', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, v) => enqueue(conn.db, sync, { v }, { debounce })));
    expect(new Set(all.map((r) => r.id)).size).toBe(1);
    const bulk = await enqueueMany(conn.db, [
      { job: sync, payload: { v: 100 }, debounce },
      { job: sync, payload: { v: 1 } }, // not debounced: a job of its own
      { job: sync, payload: { v: 101 }, debounce },
    ]);
    expect(bulk.duplicate).toEqual([true, false, true]);
    expect(bulk.ids[0]).toBe(all[0]!.id);
    expect(await countJobs(conn.db)).toBe(2);
    expect((await select(conn.db, sql`select payload from sluice.jobs where debounce_key = 'account:7'`))).toEqual([{ payload: { v: 101 } }]);
  });

  it('leaves a running job of the key alone: the new one waits behind it', async () => {
    const { id } = await enqueue(conn.db, sync, { v: 1 }, { debounce: { key: 'account:7', windowMs: 1 } });
    await conn.db.execute(sql`update sluice.jobs set run_after = now() - interval '1 second'`);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const slow = defineJob({ type: 'sync-account', payload: z.object({ v: z.number() }), handler: async () => { started(); await held; } });
    const pass = drain(conn.db, [slow], { budgetMs: 10_000 });
    await running;
    const next = await enqueue(conn.db, sync, { v: 2 }, { debounce });
    expect(next.duplicate).toBe(false);
    expect(next.id).not.toBe(id);
    expect(await select(conn.db, sql`select status, payload from sluice.jobs order by id`))
      .toEqual([{ status: 'running', payload: { v: 1 } }, { status: 'pending', payload: { v: 2 } }]);
    release();
    await pass;
  });

  it('works over HTTP: POST /api/jobs with { debounce } answers the same id, duplicate: true', async () => {
    const app = await startWakeApp(conn.db, [sync], { SLUICE_KICK: false });
    try {
      const post = (v: number) => app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'sync-account', payload: { v }, debounce } });
      const [a, b] = [await post(1), await post(2)];
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(b.json).toEqual({ id: a.json.id, duplicate: true });
      expect((await app.call('GET', `/api/jobs/${a.json.id}`, { token: SECRETS.ADMIN_SECRET })).json).toMatchObject({ payload: { v: 2 }, debounceKey: 'account:7' });
      const bad = await app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'sync-account', payload: { v: 1 }, debounce: { key: 'x' } } });
      expect(bad.status).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('is per type, and refuses runAt, delayMs or idempotencyKey beside it', async () => {
    const a = await enqueue(conn.db, sync, { v: 1 }, { debounce });
    const b = await enqueue(conn.db, other, { v: 1 }, { debounce });
    expect(b.id).not.toBe(a.id);
    await expect(enqueue(conn.db, sync, { v: 1 }, { debounce, delayMs: 5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(enqueue(conn.db, sync, { v: 1 }, { debounce, idempotencyKey: 'k' })).rejects.toThrow(/debounce sets the start itself/);
    await expect(enqueue(conn.db, sync, { v: 1 }, { debounce: { key: '', windowMs: 5 } })).rejects.toBeInstanceOf(ValidationError);
    expect(await countJobs(conn.db)).toBe(2);
  });
});
