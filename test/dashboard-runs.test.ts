import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS, startApi } from './support/api.js';

// The dashboard's run-history routes over HTTP: the runs list, a job, a replay and a bulk replay,
// behind the session (and its CSRF token for the POSTs); bad input is a 400 with zod's issues.
// The page that calls them: test/browser/runs.test.ts.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi({ SLUICE_KICK: 'off' }); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => { await api.db.execute(sql`delete from sluice.jobs`); });

const at = (path: string) => new URL(path, api.url).href;

async function session() {
  const res = await fetch(at('/api/dashboard/login'), {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password: SECRETS.ADMIN_SECRET }).toString(),
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const page = await (await fetch(at('/api/dashboard'), { headers: { cookie } })).text();
  const csrf = /<meta name="sluice-csrf" content="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf };
}

async function insertJob(status: 'dead' | 'pending' | 'completed', key?: string): Promise<string> {
  const rows = ((await api.db.execute(sql`insert into sluice.jobs (type, payload, status, attempts, last_error, dead_at, completed_at, result, idempotency_key)
    values ('send-welcome-email', '{"to":"x"}', ${status}, 1,
            ${status === 'dead' ? 'boom' : null}, ${status === 'dead' ? sql`now()` : null}, ${status === 'completed' ? sql`now()` : null},
            ${status === 'completed' ? '{"ok":true}' : null}::jsonb, ${key ?? null})
    returning id`)) as unknown as { rows: { id: string }[] }).rows;
  return rows[0]!.id;
}

describe('GET /api/dashboard/jobs and /jobs/:id', () => {
  it('need a session', async () => {
    const id = await insertJob('dead');
    expect((await fetch(at('/api/dashboard/jobs'))).status).toBe(401);
    expect((await fetch(at(`/api/dashboard/jobs/${id}`))).status).toBe(401);
  });

  it('list by the filter, page by the cursor, and show one job with its attempts and replays', async () => {
    const dead = [await insertJob('dead'), await insertJob('dead'), await insertJob('dead')];
    const keyed = await insertJob('completed', 'order-1');
    const { cookie } = await session();
    const get = async (query: string) => {
      const res = await fetch(at(`/api/dashboard/jobs?${query}`), { headers: { cookie } });
      expect(res.status).toBe(200);
      return (await res.json()) as { jobs: { id: string }[]; nextCursor: string | null };
    };
    const first = await get('status=dead&limit=2');
    expect(first.jobs).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await get(`status=dead&limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second).toMatchObject({ nextCursor: null });
    expect([...first.jobs, ...second.jobs].map((j) => j.id).sort()).toEqual([...dead].sort());
    expect((await get('idempotencyKey=order-1')).jobs.map((j) => j.id)).toEqual([keyed]);
    expect((await get(`id=${dead[1]}`)).jobs.map((j) => j.id)).toEqual([dead[1]]);
    // Vercel's rewrite adds `path`: taken, not refused.
    expect((await get('path=jobs&type=send-welcome-email')).jobs).toHaveLength(4);

    const detail = await (await fetch(at(`/api/dashboard/jobs/${dead[0]}`), { headers: { cookie } })).json();
    expect(detail).toMatchObject({ id: dead[0], status: 'dead', steps: [], children: [], replays: [], replayOf: null });
    expect(Array.isArray(detail.attemptLog)).toBe(true);
  });

  it('refuse a bad filter with a 400 and zod\'s issues, never a 500', async () => {
    const { cookie } = await session();
    for (const query of ['status=finished', 'from=yesterday', 'to=2026-01-01', 'id=not-a-uuid', 'limit=0', 'limit=9999', 'type=', 'nonsense=1', 'status=dead&status=completed']) {
      const res = await fetch(at(`/api/dashboard/jobs?${query}`), { headers: { cookie } });
      expect(res.status, query).toBe(400);
      const body = await res.json();
      expect(body.error, query).toMatch(/^invalid request/);
      expect(body.issues.length, query).toBeGreaterThan(0);
    }
    expect((await fetch(at('/api/dashboard/jobs/not-a-uuid'), { headers: { cookie } })).status).toBe(400);
    expect((await fetch(at('/api/dashboard/jobs/01a25099-3b21-770c-aff6-3e79670ba260'), { headers: { cookie } })).status).toBe(404);
  });
});

describe('POST /api/dashboard/jobs/:id/replay and /api/dashboard/replay', () => {
  it('replay an ended job with the session and its CSRF token: a new pending job, linked both ways', async () => {
    const id = await insertJob('dead');
    const { cookie, csrf } = await session();
    const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-sluice-csrf': csrf }) => fetch(at(path), {
      method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
    });
    expect((await post(`/api/dashboard/jobs/${id}/replay`, {}, {})).status).toBe(403); // no token
    expect((await post(`/api/dashboard/jobs/${id}/replay`, {}, { 'x-sluice-csrf': csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const res = await post(`/api/dashboard/jobs/${id}/replay`, {});
    expect(res.status).toBe(201);
    const copy = await res.json();
    expect(copy).toMatchObject({ status: 'pending', replayOf: id, type: 'send-welcome-email', payload: { to: 'x' } });
    const original = await (await fetch(at(`/api/dashboard/jobs/${id}`), { headers: { cookie } })).json();
    expect(original.replays.map((r: { id: string }) => r.id)).toEqual([copy.id]);

    // Not ended: 409. An unknown step: 400. A bad body: 400 with issues.
    expect((await post(`/api/dashboard/jobs/${copy.id}/replay`, {})).status).toBe(409);
    expect((await post(`/api/dashboard/jobs/${id}/replay`, { fromStep: 'no-such-step' })).status).toBe(400);
    for (const body of [{ fromStep: 5 }, { fromStep: '' }, { again: true }]) {
      const bad = await post(`/api/dashboard/jobs/${id}/replay`, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect((await bad.json()).issues.length).toBeGreaterThan(0);
    }
  });

  it('replay every ended job of a filter; refuse a status that has not ended, or a filter it cannot take', async () => {
    await insertJob('dead');
    await insertJob('dead');
    await insertJob('pending');
    const { cookie, csrf } = await session();
    const post = (body: unknown) => fetch(at('/api/dashboard/replay'), {
      method: 'POST', headers: { cookie, 'x-sluice-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    for (const body of [{}, { filter: {} }, { filter: { status: 'pending' } }, { filter: { status: 'dead', id: '01a25099-3b21-770c-aff6-3e79670ba260' } },
      { filter: { status: 'dead', from: 'last week' } }, { filter: { status: 'dead' }, extra: 1 }]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await (await post({ filter: { status: 'dead', type: 'send-welcome-email' } })).json()).toEqual({ count: 2, more: false });
    const rows = ((await api.db.execute(sql`select status, count(*)::int as n from sluice.jobs group by status order by status`)) as unknown as { rows: unknown[] }).rows;
    expect(rows).toEqual([{ status: 'dead', n: 2 }, { status: 'pending', n: 3 }]);
    const noToken = await fetch(at('/api/dashboard/replay'), { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ filter: { status: 'dead' } }) });
    expect(noToken.status).toBe(403);
  });
});
