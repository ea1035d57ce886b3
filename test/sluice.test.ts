import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, UnknownJobTypeError } from '../lib/index.js';
import { freshDatabase } from './support/db.js';
import { countJobs } from './support/sql.js';

const ran: string[] = [];
const ping = defineJob({ type: 'ping', payload: z.object({ n: z.number() }), handler: async ({ n }) => void ran.push(`ping ${n}`) });
const pong = defineJob({ type: 'pong', payload: z.object({}), handler: async () => void ran.push('pong') });

let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });

describe('createSluice', () => {
  it('gives each instance its own registry: a type one instance knows is unknown to another', async () => {
    const a = createSluice({ jobs: [ping], db: conn.db });
    const b = createSluice({ jobs: [pong], db: conn.db });
    expect([...a.jobs.keys()]).toEqual(['ping']);
    // @ts-expect-error: 'ping' is not one of b's types (a compile error too)
    await expect(b.enqueue('ping', { n: 1 })).rejects.toBeInstanceOf(UnknownJobTypeError);
    const { id } = await a.enqueue('ping', { n: 1 });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // b's drain leaves a's job alone (pending, attempt unspent) instead of killing it as unknown.
    expect(await b.drain()).toMatchObject({ claimed: 0, dead: 0 });
    expect(await a.admin.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await a.drain()).toMatchObject({ claimed: 1, completed: 1 });
    expect(ran).toContain('ping 1');
  });

  it('enqueues in the caller\'s transaction with { tx }: a rollback leaves no job', async () => {
    const sluice = createSluice({ jobs: [ping], db: conn.db });
    await conn.db.execute(sql`delete from sluice.jobs`);
    await expect(conn.db.transaction(async (tx) => {
      await sluice.enqueue(ping, { n: 2 }, { tx, delayMs: 60_000 });
      throw new Error('business write failed');
    })).rejects.toThrow('business write failed');
    expect(await countJobs(conn.db)).toBe(0);
    await conn.db.transaction(async (tx) => { await sluice.enqueueMany([{ job: 'ping', payload: { n: 3 } }], { tx }); });
    expect(await countJobs(conn.db)).toBe(1);
    expect(await sluice.stats()).toMatchObject({ pending: 1 });
    const { jobs: [job] } = await sluice.admin.list();
    expect(await sluice.admin.cancel(job!.id)).toMatchObject({ id: job!.id, status: 'cancelled' });
  });

  it('serves its HTTP app through fetch(), with the instance\'s settings over the environment\'s', async () => {
    const sluice = createSluice({ jobs: [ping], url: conn.url, settings: { ENQUEUE_SECRET: 'test-instance-secret' } });
    try {
      const enqueue = (token: string) => sluice.fetch(new Request('http://app.test/api/jobs', {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'ping', payload: { n: 4 } }),
      }));
      expect((await enqueue('wrong')).status).toBe(401);
      const res = await enqueue('test-instance-secret');
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ duplicate: false });
    } finally {
      await sluice.close();
    }
  });

  it('lets the app\'s own routes win over Sluice\'s parameter paths, and refuses one of Sluice\'s paths', async () => {
    const sluice = createSluice({
      jobs: [ping], db: conn.db, settings: { ADMIN_SECRET: 'test-instance-secret' },
      routes: { '/api/jobs/summary': { GET: (c) => c.json({ summary: true }) } },
    });
    const call = (method: string, path: string) => sluice.fetch(new Request(`http://app.test${path}`, { method, headers: { authorization: 'Bearer test-instance-secret' } }));
    expect(await (await call('GET', '/api/jobs/summary')).json()).toEqual({ summary: true });
    const post = await call('POST', '/api/jobs/summary');
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await call('GET', '/api/jobs/not-a-uuid')).status).toBe(400);
    expect(() => createSluice({ jobs: [ping], routes: { '/api/health': { GET: (c) => c.text('ok') } } })).toThrow(/Sluice's own path/);
  });

  it('checks its settings like the environment: a bad override is refused, an empty one unsets', async () => {
    expect(() => createSluice({ jobs: [ping], settings: { ADMIN_SECRET: 'a,b,c' } })).toThrow(/invalid settings.*ADMIN_SECRET/s);
    expect(() => createSluice({ jobs: [ping], settings: { SLUICE_MAX_BODY_BYTES: -1 } })).toThrow(/SLUICE_MAX_BODY_BYTES/);
    const sluice = createSluice({ jobs: [ping], db: conn.db, settings: { ADMIN_SECRET: '' } });
    expect(sluice.settings().ADMIN_SECRET).toBeUndefined();
    const res = await sluice.fetch(new Request('http://app.test/api/queue/stats', { headers: { authorization: 'Bearer ' } }));
    expect(res.status).toBe(500); // unset: the route names the variable instead of running open
  });

  it('refuses no jobs, and one type defined twice', () => {
    expect(() => createSluice({ jobs: [] })).toThrow(/at least one job/);
    const again = defineJob({ type: 'ping', payload: z.object({}), handler: async () => {} });
    expect(() => createSluice({ jobs: [ping, again] })).toThrow(/defined twice/);
  });

  it('answers 500 naming DATABASE_URL when it has no connection', async () => {
    const sluice = createSluice({ jobs: [ping], settings: { DATABASE_URL: undefined, ADMIN_SECRET: 'test-instance-secret' } });
    const res = await sluice.fetch(new Request('http://app.test/api/queue/stats', { headers: { authorization: 'Bearer test-instance-secret' } }));
    expect(res.status).toBe(500);
    expect((await res.json()).error).toMatch(/DATABASE_URL is not set/);
  });
});
