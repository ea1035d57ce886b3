import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sluice } from '../lib/app/sluice.js';
import { freePort } from '../scripts/local-postgres.js';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { select } from './support/sql.js';

// The throttle where it is not a bearer route's 401 (the dashboard's login, /api/health's counts), and
// every route that checks a secret while the database is down. The throttle itself: test/throttle.test.ts.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi(); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => {
  setEnv({ ...SECRETS, SLUICE_AUTH_MAX_FAILURES: '3', HEALTH_SECRET: undefined });
  await api.db.execute(sql`truncate sluice.auth_failures, sluice.sessions`);
});

const login = (password: string) => api.call('POST', '/api/dashboard/login', {
  body: new URLSearchParams({ password }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
});
const failures = async () => (await select<{ n: number }>(api.db, sql`select coalesce(sum(failures), 0)::int as n from sluice.auth_failures`))[0]!.n;

describe('the throttle on the dashboard login and /api/health', () => {
  it('counts wrong passwords with wrong bearer tokens, per address; past the limit the right password gets 429 and no session', async () => {
    expect((await login('wrong-password-1')).status).toBe(401);
    expect((await login('wrong-password-2')).status).toBe(401);
    expect((await login('')).status).toBe(401); // an empty form is no guess: not counted
    expect((await api.call('GET', '/api/jobs', { token: 'wrong-token' })).status).toBe(401);
    expect(await failures()).toBe(3);
    const refused = await login(SECRETS.ADMIN_SECRET);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(refused.text).toContain('Too many wrong passwords from this address');
    expect(refused.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await failures()).toBe(3); // the right password is never counted
  });

  it('a wrong HEALTH_SECRET is answered as none, and not counted (a flood of /api/health writes nothing); a throttled address gets the short answer with the right one, never a 429', async () => {
    setEnv({ HEALTH_SECRET: 'test-health-secret' });
    for (let i = 0; i < 4; i++) expect((await api.call('GET', '/api/health', { token: `wrong-${i}` })).json).toEqual({ ok: true });
    expect(await failures()).toBe(0);
    for (let i = 0; i < 3; i++) expect((await api.call('GET', '/api/jobs', { token: `wrong-${i}` })).status).toBe(401);
    const res = await api.call('GET', '/api/health', { token: 'test-health-secret' });
    expect([res.status, res.json]).toEqual([200, { ok: true }]);
    await api.db.execute(sql`truncate sluice.auth_failures`);
    expect((await api.call('GET', '/api/health', { token: 'test-health-secret' })).json).toMatchObject({ ok: true, pending: 0 });
  });
});

describe('a database that is down', () => {
  it('answers 503 (never 500) to every secret checked, right or wrong alike, so an outage tells no guess from the secret', async () => {
    const cookie = ((await login(SECRETS.ADMIN_SECRET)).headers.get('set-cookie') ?? '').split(';')[0]!;
    const url = process.env.DATABASE_URL!;
    await sluice.close();
    setEnv({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`, HEALTH_SECRET: 'test-health-secret' });
    try {
      for (const token of ['wrong-token', SECRETS.ADMIN_SECRET]) {
        const res = await api.call('GET', '/api/queue/stats', { token });
        expect([res.status, res.headers.get('retry-after')]).toEqual([503, '5']);
        expect(res.json).toEqual({ error: 'database unavailable; try again shortly' });
      }
      for (const password of ['wrong-password', SECRETS.ADMIN_SECRET]) expect((await login(password)).status).toBe(503);
      expect((await api.call('GET', '/api/dashboard', { headers: { cookie } })).status).toBe(503);
      // What needs no database still answers: no secret at all, the login form, health's short answer
      // (from its last reading, at most SLUICE_HEALTH_CACHE_MS old, or a 503).
      expect((await api.call('GET', '/api/queue/stats')).status).toBe(401);
      expect((await api.call('GET', '/api/dashboard')).status).toBe(200);
      for (const token of ['wrong-token', 'test-health-secret']) {
        const health = await api.call('GET', '/api/health', { token });
        expect([200, 503]).toContain(health.status);
        expect(Object.keys(health.json as object)).toEqual(['ok']);
      }
    } finally {
      await sluice.close();
      setEnv({ DATABASE_URL: url });
    }
  });
});
