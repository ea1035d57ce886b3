import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS, startApi } from './support/api.js';

// The dashboard over HTTP (issue 12): its login, session cookie and CSRF checks, its data and actions.
// The browser's view of it is test/browser/dashboard.test.ts.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi(); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => { await api.db.execute(sql`delete from sluice.jobs`); });

const at = (path: string) => new URL(path, api.url).href;
const form = (fields: Record<string, string>) => ({
  method: 'POST', redirect: 'manual' as const,
  headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
});

async function login(password = SECRETS.ADMIN_SECRET) {
  const res = await fetch(at('/api/dashboard/login'), form({ password }));
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, setCookie, cookie: setCookie.split(';')[0]! };
}

/** A logged-in session: its cookie and the CSRF token from its page. */
async function session() {
  const { cookie } = await login();
  const page = await (await fetch(at('/api/dashboard'), { headers: { cookie } })).text();
  const csrf = /<meta name="sluice-csrf" content="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf, page };
}

async function deadJob(type = 'send-welcome-email'): Promise<string> {
  const [row] = ((await api.db.execute(sql`insert into sluice.jobs (type, payload, status, attempts, last_error, dead_at)
    values (${type}, '{"to":"x"}', 'dead', 5, 'attempt 5/5: boom', now()) returning id`)) as unknown as { rows: { id: string }[] }).rows;
  return row!.id;
}

describe('dashboard login', () => {
  it('shows a login form, with a strict content security policy, until a session exists', async () => {
    const res = await fetch(at('/api/dashboard'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('action="/api/dashboard/login"');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses a wrong password: 401, the form again, no cookie', async () => {
    const { res, setCookie } = await login('wrong');
    expect(res.status).toBe(401);
    expect(setCookie).toBe('');
    expect(await res.text()).toContain('Wrong password');
  });

  it('sets an HttpOnly, Secure, SameSite=Strict session cookie; the secret is in neither the cookie nor the page', async () => {
    const { res, setCookie, cookie } = await login();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/api/dashboard');
    expect(setCookie).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
    expect(setCookie).toContain('Path=/api/dashboard');
    expect(cookie).not.toContain(SECRETS.ADMIN_SECRET);
    const { page } = await session();
    expect(page).toContain('sluice-csrf');
    expect(page).not.toContain(SECRETS.ADMIN_SECRET);
  });

  it('refuses forged and tampered cookies', async () => {
    const { cookie } = await login();
    const value = cookie.split('=')[1]!;
    const [v, id, mac] = value.split('.');
    const forged = [
      `${v}.${id}.${'A'.repeat(43)}`, // a made-up signature
      `${v}.${'B'.repeat(24)}.${mac}`, // another session's id under this one's signature
      `v1.${id}.${mac}`, // another version
      'anything',
    ];
    for (const bad of forged) {
      const data = await fetch(at('/api/dashboard/data'), { headers: { cookie: `sluice_session=${bad}` } });
      expect(data.status).toBe(401);
      const page = await (await fetch(at('/api/dashboard'), { headers: { cookie: `sluice_session=${bad}` } })).text();
      expect(page).toContain('action="/api/dashboard/login"');
    }
  });

  it('refuses a login posted from another site', async () => {
    const res = await fetch(at('/api/dashboard/login'), { ...form({ password: SECRETS.ADMIN_SECRET }), headers: { ...form({}).headers, origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('dashboard actions', () => {
  it('retry a dead job with the session and its CSRF token; refused cross-site, without the token, or without a session', async () => {
    const id = await deadJob();
    const { cookie, csrf } = await session();
    const post = (headers: Record<string, string>) => fetch(at(`/api/dashboard/jobs/${id}/retry`), { method: 'POST', headers });
    expect((await post({ cookie })).status).toBe(403); // no CSRF token
    expect((await post({ cookie, 'x-sluice-csrf': 'A'.repeat(43) })).status).toBe(403); // a wrong one
    expect((await post({ cookie, 'x-sluice-csrf': csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ cookie, 'x-sluice-csrf': csrf, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ 'x-sluice-csrf': csrf })).status).toBe(401); // the token alone is no session
    expect((await post({ cookie, 'x-sluice-csrf': csrf, origin: 'null' })).status).toBe(403); // a sandboxed frame, no Sec-Fetch-Site
    // What Chromium sends for the page's own POST (Origin null under some referrer policies): accepted.
    const ok = await post({ cookie, 'x-sluice-csrf': csrf, origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id, status: 'pending', attempts: 0, deadAt: null });
  });

  it('serve the page\'s data: stats, history series, dead jobs by type, types', async () => {
    const a = await deadJob('send-welcome-email');
    await deadJob('other-type');
    const { cookie } = await session();
    const res = await fetch(at('/api/dashboard/data?range=6h&deadType=send-welcome-email'), { headers: { cookie } });
    expect(res.status).toBe(200);
    const data = await res.json();
    // Stats and problems are the app's: a type it does not define is another app's to count.
    expect(data).toMatchObject({ range: '6h', dead: { total: 1, type: 'send-welcome-email' }, stats: { dead: 1 } });
    expect(data.dead.jobs.map((j: { id: string }) => j.id)).toEqual([a]);
    expect(data.problems).toEqual(['1 dead job (> 0)']);
    expect(data.throughput.t).toHaveLength(360);
    expect(data.types.map((t: { type: string }) => t.type)).toContain('send-welcome-email');
    expect((await fetch(at('/api/dashboard/data?range=2d'), { headers: { cookie } })).status).toBe(400);
    // Vercel's rewrite of /api/dashboard/:path* adds the matched path to the query.
    expect((await fetch(at('/api/dashboard/data?path=data'), { headers: { cookie } })).status).toBe(200);
    // A week is a point an hour, not 10,080 minutes.
    const week = await (await fetch(at('/api/dashboard/data?range=7d'), { headers: { cookie } })).json();
    expect(week).toMatchObject({ step: 3_600 });
    expect(week.throughput.t).toHaveLength(168);
  });

  it('retry and cancel every dead job of a type at once', async () => {
    for (let i = 0; i < 3; i++) await deadJob('send-welcome-email');
    const other = await deadJob('other-type');
    const { cookie, csrf } = await session();
    const bulk = (action: string, body: unknown) => fetch(at(`/api/dashboard/dead/${action}`), {
      method: 'POST', headers: { cookie, 'x-sluice-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(await (await bulk('retry', { type: 'send-welcome-email' })).json()).toEqual({ count: 3, more: false });
    expect(await (await bulk('cancel', {})).json()).toEqual({ count: 1, more: false });
    const left = ((await api.db.execute(sql`select id, status from sluice.jobs order by id`)) as unknown as { rows: { id: string; status: string }[] }).rows;
    expect(left.filter((r) => r.id !== other).map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
    expect(left.find((r) => r.id === other)?.status).toBe('cancelled');
    expect((await bulk('retry', { type: 'x', extra: 1 })).status).toBe(400);
  });

  it('log out: the cookie is cleared (a form post carrying the token)', async () => {
    const { cookie, csrf } = await session();
    const res = await fetch(at('/api/dashboard/logout'), { ...form({ csrf }), headers: { ...form({}).headers, cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^sluice_session=; Path=\/api\/dashboard; Max-Age=0/);
  });

  it('the same bulk calls over the bearer API', async () => {
    await deadJob();
    const res = await api.call('POST', '/api/dead/retry', { token: SECRETS.ADMIN_SECRET, json: {} });
    expect(res.json).toEqual({ count: 1, more: false });
    expect((await api.call('POST', '/api/dead/cancel', { json: {} })).status).toBe(401);
  });
});
