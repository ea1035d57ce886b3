import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, enqueue, parseConfig, ValidationError } from '../lib/queue/index.js';
import { allJobs } from '../lib/app/jobs/index.js';
import { createSluice } from '../lib/sluice.js';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { countJobs } from './support/sql.js';

// What a hostile client found (issue 7): each answer here was a 500, a silent drop or a leak before.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi(); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => {
  setEnv({ ...SECRETS, SLUICE_MAX_PAYLOAD_BYTES: undefined, HEALTH_SECRET: undefined, ALERT_DEAD_MAX: undefined });
  await api.db.execute(sql`delete from sluice.jobs`);
});

const welcome = { userId: 'u1', email: 'ada@example.com', name: 'Ada' };
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const post = (path: string, body: string, token?: string) =>
  api.call('POST', path, { token, body, headers: { 'content-type': 'application/json' } });

describe('hostile input', () => {
  it.each([
    ['/api/jobs', SECRETS.ENQUEUE_SECRET],
    ['/api/drain', SECRETS.CRON_SECRET],
    ['/api/signup', undefined],
  ])('a JSON body nested 5,000 levels deep on POST %s is a 400, not a 500', async (path, token) => {
    for (const body of [nested(5_000), `{"type":"send-welcome-email","payload":${nested(5_000)}}`]) {
      const res = await post(path, body, token);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatch(/nested deeper than/);
    }
    expect(await countJobs(api.db)).toBe(0);
  });

  it('a payload nested deeper than 64 levels is a ValidationError of the engine, however deep', async () => {
    const deep: unknown[] = [];
    let inner = deep;
    for (let i = 0; i < 70; i++) inner.push((inner = []));
    const anything = defineJob({ type: 'deep', payload: z.unknown(), handler: async () => {} });
    let veryDeep: unknown = 1;
    for (let i = 0; i < 100_000; i++) veryDeep = [veryDeep];
    await expect(enqueue(api.db, anything, deep)).rejects.toThrow(/nested deeper than 64 levels/);
    await expect(enqueue(api.db, anything, veryDeep)).rejects.toBeInstanceOf(ValidationError);
    expect(await countJobs(api.db)).toBe(0);
  });

  it.each([['type=%00'], ['type=a%00b'], ['status=%00']])('GET /api/jobs?%s is a 400', async (query) => {
    const res = await api.call('GET', `/api/jobs?${query}`, { token: SECRETS.ADMIN_SECRET });
    expect(res.status).toBe(400);
    expect(res.json.issues.length).toBeGreaterThan(0);
  });

  it('a top-level __proto__ key is a 400 like any unknown key, alone or in a bulk', async () => {
    const one = await post('/api/jobs', `{"type":"send-welcome-email","payload":${JSON.stringify(welcome)},"__proto__":{"priority":5}}`, SECRETS.ENQUEUE_SECRET);
    expect(one.status).toBe(400);
    expect(one.json.error).toMatch(/__proto__/);
    const bulk = await post('/api/jobs', `{"jobs":[{"type":"send-welcome-email","payload":${JSON.stringify(welcome)},"__proto__":{}}]}`, SECRETS.ENQUEUE_SECRET);
    expect(bulk.status).toBe(400);
    expect(bulk.json.error).toMatch(/jobs\[0\]: .*__proto__/s);
    expect(bulk.json.issues[0].path).toEqual(['jobs', 0]);
    const wrapper = await post('/api/jobs', '{"jobs":[],"__proto__":{}}', SECRETS.ENQUEUE_SECRET);
    expect(wrapper.status).toBe(400);
    expect(await countJobs(api.db)).toBe(0);
  });

  it('a bulk whose fourth item is too large answers 413 naming jobs[3]', async () => {
    setEnv({ SLUICE_MAX_PAYLOAD_BYTES: '200' });
    const jobs = [0, 1, 2, 3].map((i) => ({ type: 'send-welcome-email', payload: { ...welcome, name: i === 3 ? 'A'.repeat(180) : 'A' } }));
    const res = await api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { jobs } });
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/^jobs\[3\]: payload is \d+ bytes; the limit is 200$/);
    expect(await countJobs(api.db)).toBe(0);
  });

  it('an unknown type in a bulk names its item, like every other bulk error', async () => {
    const jobs = [{ type: 'send-welcome-email', payload: welcome }, { type: 'send-welcome-mail', payload: welcome }];
    const res = await api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { jobs } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'unknown_job_type', error: expect.stringMatching(/^jobs\[1\]: unknown job type "send-welcome-mail"/) });
    expect(await countJobs(api.db)).toBe(0);
  });

  it.each([['tomorrow'], ['2026-12-01T08:00:00'], ['2026-12-01']])('runAt %j is a 400 saying ISO 8601 with an offset is expected', async (runAt) => {
    const res = await api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome, runAt } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/ISO 8601 date-time with an offset/);
  });

  it('unknown paths are a JSON 404', async () => {
    const res = await api.call('GET', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'not found' });
  });
});

describe('answers that must not leak or be cached', () => {
  it('admin and error responses carry Cache-Control: no-store', async () => {
    const { json: { id } } = await api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome } });
    for (const path of ['/api/jobs', `/api/jobs/${id}`, '/api/queue/stats', '/api/health']) {
      const res = await api.call('GET', path, { token: SECRETS.ADMIN_SECRET });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect((await api.call('GET', '/api/jobs')).headers.get('cache-control')).toBe('no-store');
  });

  it('HEAD /api/health answers like GET without a body; HEAD of a protected route still needs its secret', async () => {
    const get = await api.call('GET', '/api/health');
    const head = await api.call('HEAD', '/api/health');
    expect(head.status).toBe(get.status);
    expect(head.text).toBe('');
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect((await api.call('HEAD', '/api/queue/stats')).status).toBe(401);
  });

  it('shows the counts only to callers with HEALTH_SECRET or ADMIN_SECRET; the status still says ok or not', async () => {
    expect((await api.call('GET', '/api/health')).json).toEqual({ ok: true });
    expect((await api.call('GET', '/api/health', { token: SECRETS.ADMIN_SECRET })).json).toMatchObject({ ok: true, pending: 0, dead: 0 });
    setEnv({ HEALTH_SECRET: 'test-health-secret' });
    expect((await api.call('GET', '/api/health')).json).toEqual({ ok: true });
    expect((await api.call('GET', '/api/health', { token: 'wrong' })).json).toEqual({ ok: true });
    expect((await api.call('GET', '/api/health', { token: 'test-health-secret' })).json).toMatchObject({ ok: true, pending: 0, dead: 0 });
    await api.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values ('send-welcome-email', '{}', 'dead', now())`);
    // A caller with the secret reads afresh; one without it is answered from that reading (a few seconds old at most).
    expect((await api.call('GET', '/api/health', { token: 'test-health-secret' })).json).toMatchObject({ ok: false, dead: 1 });
    const failing = await api.call('GET', '/api/health');
    expect(failing.status).toBe(503);
    expect(failing.json).toEqual({ ok: false });
  });
});

describe('secrets', () => {
  it('a secret variable may hold two values, "new,old": both work (and the whole value, as Vercel Cron sends it), nothing else', async () => {
    const [fresh, old] = ['test-admin-secret-new', 'test-admin-secret-old'];
    setEnv({ ADMIN_SECRET: `${fresh},${old}` });
    for (const token of [fresh, old, `${fresh},${old}`]) {
      expect((await api.call('GET', '/api/queue/stats', { token })).status).toBe(200);
    }
    for (const token of ['test-admin-secret', `${fresh},`, `${old},${fresh}`, '']) expect((await api.call('GET', '/api/queue/stats', { token })).status).toBe(401);
  });

  it('refuses a secret with three values or an empty one at configuration time', () => {
    const [a, b, c] = ['a'.repeat(16), 'b'.repeat(16), 'c'.repeat(16)];
    expect(() => parseConfig({ ADMIN_SECRET: `${a},${b},${c}` })).toThrow(/ADMIN_SECRET/);
    expect(() => parseConfig({ CRON_SECRET: `${a},` })).toThrow(/CRON_SECRET/);
    expect(parseConfig({ DRAIN_SECRET: `${a},${b}` }).DRAIN_SECRET).toBe(`${a},${b}`);
  });

  it('refuses a secret shorter than 16 characters or holding whitespace, naming the setting, never the value', () => {
    // Every value holds "zq", which no message may show.
    const long = 'zq-long-enough-value';
    const bad = ['zq-fifteen-char', `${long} `, ` ${long}`, `${long}\n`, 'zq-long-enough\tvalue', 'zq-long enough-value', `${long},zq-too-short`, `${long}, ${long}`];
    for (const name of ['ENQUEUE_SECRET', 'ADMIN_SECRET', 'CRON_SECRET', 'DRAIN_SECRET', 'HEALTH_SECRET'] as const) {
      for (const value of bad) {
        const message = (() => {
          try {
            parseConfig({ [name]: value });
          } catch (error) {
            return (error as Error).message;
          }
          return `accepted ${JSON.stringify(value)}`;
        })();
        expect(message).toMatch(new RegExp(`(at least 16 characters|whitespace)[^]*at ${name}$`));
        expect(message).not.toMatch(/zq/);
      }
      expect(parseConfig({ [name]: 'x'.repeat(16) })[name]).toBe('x'.repeat(16));
    }
    // An instance's settings are held to the same rule.
    expect(() => createSluice({ jobs: allJobs, settings: { ENQUEUE_SECRET: 'tiny-value' } })).toThrow(/invalid settings[^]*16 characters[^]*ENQUEUE_SECRET/);
  });
});

describe('a database that is down', () => {
  it('answers 503 with Retry-After on the public signup (not a 500), and health says so', async () => {
    const { freePort } = await import('../scripts/local-postgres.js');
    const { sluice } = await import('../lib/app/sluice.js');
    const url = process.env.DATABASE_URL!;
    await sluice.close();
    setEnv({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` }); // nothing listens there
    try {
      const res = await api.call('POST', '/api/signup', { json: { email: 'down@example.com', name: 'Down' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.json).toEqual({ error: 'database unavailable; try again shortly' });
      expect((await api.call('GET', '/api/health', { token: SECRETS.ADMIN_SECRET })).status).toBe(503);
    } finally {
      await sluice.close();
      setEnv({ DATABASE_URL: url });
    }
  });
});
