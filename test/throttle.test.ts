import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serve, type NodeServer } from '../lib/adapters/node.js';
import { appOptions, sluice } from '../lib/app/sluice.js';
import { createSluice, type Sluice } from '../lib/sluice.js';
import { client, type Call } from './http/support.js';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { select } from './support/sql.js';

// The throttle of wrong secrets (lib/http/throttle.ts), over real HTTP on a real Postgres. Two servers
// behind a "proxy" (serve()'s trustProxy: the client is X-Forwarded-For's first hop, as on Vercel), each
// its own instance on the one database, stand in for two serverless instances.
let api: Awaited<ReturnType<typeof startApi>>;
let second: Sluice;
const servers: NodeServer[] = [];
let viaA: Call;
let viaB: Call;
beforeAll(async () => {
  api = await startApi();
  second = createSluice({ ...appOptions, url: api.conn.url });
  for (const instance of [sluice, second]) servers.push(await serve(instance, { port: 0, trustProxy: true }));
  viaA = client(servers[0]!.url);
  viaB = client(servers[1]!.url);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await second?.close();
  await api?.close();
});
beforeEach(async () => {
  setEnv({ ...SECRETS, SLUICE_AUTH_MAX_FAILURES: '3', SLUICE_AUTH_FAILURE_WINDOW: undefined, HEALTH_SECRET: undefined });
  await api.db.execute(sql`truncate sluice.auth_failures`);
});

const stats = (call: Call, from: string, token?: string) =>
  call('GET', '/api/queue/stats', { token, headers: { 'x-forwarded-for': `${from}, 10.0.0.1` } });
const rows = () => select<{ client: string; failures: number }>(api.db, sql`select client, failures from sluice.auth_failures order by client`);

describe('the throttle of wrong secrets', () => {
  it('refuses an address past SLUICE_AUTH_MAX_FAILURES (429, Retry-After), even with the right secret, counting across instances', async () => {
    for (const call of [viaA, viaB, viaA]) expect((await stats(call, '203.0.113.7', 'wrong-secret-guess')).status).toBe(401);
    for (const token of ['wrong-secret-guess', SECRETS.ADMIN_SECRET]) {
      const res = await stats(viaB, '203.0.113.7', token);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
      expect(res.json.error).toMatch(/too many wrong secrets/);
    }
    // Another address is not locked out: the operator's right secret works, its own wrong ones count apart.
    expect((await stats(viaA, '198.51.100.2', SECRETS.ADMIN_SECRET)).status).toBe(200);
    expect((await stats(viaA, '198.51.100.2', 'wrong-secret-guess')).status).toBe(401);
    expect(await rows()).toEqual([{ client: '198.51.100.2', failures: 1 }, { client: '203.0.113.7', failures: 4 }]);
  });

  it('never counts a right secret or a request without one', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(200);
      expect((await stats(viaA, '203.0.113.7')).status).toBe(401);
    }
    expect(await rows()).toEqual([]);
  });

  it('looks an address that showed the right secret up once per window on an instance, until it sends a wrong one', async () => {
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(200);
    for (let i = 0; i < 4; i++) await stats(viaB, '203.0.113.7', 'wrong-secret-guess');
    // The price of letting an idle queue's database sleep: instance A does not ask again within the window...
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(200);
    expect((await stats(viaB, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(429);
    // ...until a wrong secret from the address reaches it too.
    expect((await stats(viaA, '203.0.113.7', 'wrong-secret-guess')).status).toBe(429);
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(429);
  });

  it('counts concurrent wrong secrets exactly: three are answered 401, the rest 429', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => stats(i % 2 ? viaA : viaB, '203.0.113.7', `wrong-${i}`)));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(9);
  });

  it('lets the address in again once its window has ended; its next wrong secret starts a new window', async () => {
    for (let i = 0; i < 4; i++) await stats(viaA, '203.0.113.7', 'wrong-secret-guess');
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(429);
    await api.db.execute(sql`update sluice.auth_failures set window_start = window_start - interval '15 minutes'`);
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(200);
    expect((await stats(viaA, '203.0.113.7', 'wrong-secret-guess')).status).toBe(401);
    expect(await rows()).toEqual([{ client: '203.0.113.7', failures: 1 }]);
  });

  it('counts an IPv6 client by its /64, and X-Real-IP before X-Forwarded-For', async () => {
    for (const from of ['2001:db8:1:2::1', '2001:db8:1:2:ffff::9', '[2001:DB8:1:2::42]']) await stats(viaA, from, 'wrong-secret-guess');
    await viaA('GET', '/api/queue/stats', { token: 'wrong-secret-guess', headers: { 'x-real-ip': '192.0.2.1', 'x-forwarded-for': '203.0.113.7' } });
    expect(await rows()).toEqual([{ client: '192.0.2.1', failures: 1 }, { client: '2001:db8:1:2::/64', failures: 3 }]);
  });

  it('takes the connection\'s address where no proxy is trusted: a made-up X-Forwarded-For escapes nothing', async () => {
    for (const [i, from] of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'].entries()) {
      expect((await stats(api.call, from, 'wrong-secret-guess')).status).toBe(i < 3 ? 401 : 429);
    }
    expect(await rows()).toEqual([{ client: '127.0.0.1', failures: 4 }]);
  });

  it('deletes rows of ended windows as it counts, a few a time, never the counting address\'s own', async () => {
    await api.db.execute(sql`insert into sluice.auth_failures (client, window_start, failures)
      select '10.1.0.' || n, now() - interval '1 hour', 5 from generate_series(1, 30) n`);
    await stats(viaA, '203.0.113.7', 'wrong-secret-guess');
    expect(await rows()).toHaveLength(30 - 20 + 1);
  });

  it('is off with SLUICE_AUTH_MAX_FAILURES=0: nothing counted, nothing refused but the wrong secret', async () => {
    setEnv({ SLUICE_AUTH_MAX_FAILURES: '0' });
    for (let i = 0; i < 5; i++) expect((await stats(viaA, '203.0.113.7', 'wrong-secret-guess')).status).toBe(401);
    expect((await stats(viaA, '203.0.113.7', SECRETS.ADMIN_SECRET)).status).toBe(200);
    expect(await rows()).toEqual([]);
  });
});
