import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jobClaim } from '../lib/queue/core/queries-drain.js';
import { SECRETS, setEnv, startApi, startApiWithWebhook } from './support/api.js';
import { countJobs, jobRow } from './support/sql.js';

let api: Awaited<ReturnType<typeof startApi>>;
let close = async () => {};
// Every delivery fails at the webhook, so a job with maxAttempts 1 ends dead.
beforeAll(async () => { ({ api, close } = await startApiWithWebhook(500)); });
afterAll(() => close());
// Wrong secrets are sent on purpose below: each test starts with a clean slate in the throttle.
beforeEach(async () => { setEnv(SECRETS); await api.db.execute(sql`truncate sluice.jobs, sluice.auth_failures`); });

const admin = (method: string, path: string, token = SECRETS.ADMIN_SECRET) => api.call(method, path, { token });
const enqueue = async (userId: string, extra: object = {}) => {
  const res = await api.call('POST', '/api/jobs', {
    token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: { userId, email: 'a@example.com', name: 'A' }, ...extra },
  });
  expect(res.status).toBe(202);
  return res.json.id as string;
};
/** A dead job: its one attempt fails at the webhook, through the real drain route. */
const deadJob = async () => {
  const id = await enqueue(randomUUID(), { maxAttempts: 1, priority: 100 }); // claimed before any other
  const drained = await api.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, json: { maxJobs: 1 } });
  expect(drained.json).toMatchObject({ claimed: 1, dead: 1 });
  return id;
};

describe('admin routes', () => {
  it('GET /api/jobs pages newest first (by id: enqueue order), filtered by status and type', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await enqueue(`u${i}`));
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 3; page++) {
      const res = await admin('GET', `/api/jobs?limit=2${cursor && `&cursor=${cursor}`}`);
      expect(res.status).toBe(200);
      seen.push(...res.json.jobs.map((j: { id: string }) => j.id));
      cursor = res.json.nextCursor;
      if (page < 2) expect(cursor).toEqual(expect.any(String));
    }
    expect(cursor).toBeNull();
    // UUIDv7 order is creation order to the millisecond; within one the order is random.
    expect(seen).toEqual([...ids].sort().reverse());
    const dead = await deadJob();
    const filtered = await admin('GET', '/api/jobs?status=dead&type=send-welcome-email');
    expect(filtered.json.jobs.map((j: { id: string }) => j.id)).toEqual([dead]);
    expect((await admin('GET', '/api/jobs?type=other')).json.jobs).toEqual([]);
  });

  it('GET /api/jobs/export answers JSON lines of a filter; POST /api/jobs/:id/replay and /api/jobs/replay run ended jobs again', async () => {
    const dead = await deadJob();
    const other = await enqueue('u-pending');
    const res = await fetch(`${api.url}/api/jobs/export?status=dead`, { headers: { authorization: `Bearer ${SECRETS.ADMIN_SECRET}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect((await res.text()).trim().split('\n').map((line) => JSON.parse(line).id)).toEqual([dead]);

    const replayed = await admin('POST', `/api/jobs/${dead}/replay`);
    expect(replayed.status).toBe(201);
    expect(replayed.json).toMatchObject({ type: 'send-welcome-email', replayOf: dead });
    expect((await admin('GET', `/api/jobs/${dead}`)).json).toMatchObject({ replays: [{ id: replayed.json.id }], attemptLog: [{ attempt: 1, outcome: 'dead' }] });
    expect((await admin('POST', `/api/jobs/${other}/replay`)).status).toBe(409); // pending: not ended
    const noStep = await api.call('POST', `/api/jobs/${dead}/replay`, { token: SECRETS.ADMIN_SECRET, json: { fromStep: 'nope' } });
    expect([noStep.status, noStep.json.issues[0].path]).toEqual([400, ['fromStep']]);
    // In bulk: the dead original has a replay, and that replay (run by the drain above, dead too) is a
    // replay: neither is taken again.
    await deadJob(); // the replay kept the original's priority: it is the one this drain takes
    expect((await admin('GET', `/api/jobs/${replayed.json.id}`)).json.status).toBe('dead');
    const bulk = await api.call('POST', '/api/jobs/replay', { token: SECRETS.ADMIN_SECRET, json: { status: 'dead', type: 'send-welcome-email' } });
    expect(bulk.json).toEqual({ count: 0, more: false });
    expect((await api.call('POST', '/api/jobs/replay', { token: SECRETS.ADMIN_SECRET, json: { status: 'pending' } })).status).toBe(400);
    expect((await api.call('GET', '/api/jobs/export?from=soon', { token: SECRETS.ADMIN_SECRET })).status).toBe(400);
    expect((await api.call('GET', '/api/jobs/export', {})).status).toBe(401);
  });

  it.each([['limit=0'], ['limit=abc'], ['limit=501'], ['status=done'], ['cursor=xyz'], ['colour=red'], ['status=dead&status=pending']])(
    'GET /api/jobs?%s is a 400 with the zod issues', async (query) => {
      const res = await admin('GET', `/api/jobs?${query}`);
      expect(res.status).toBe(400);
      expect(res.json.issues.length).toBeGreaterThan(0);
    });

  it('GET /api/jobs/:id shows a job without its lease token; 404 unknown, 400 malformed', async () => {
    const id = await enqueue('u1', { idempotencyKey: 'welcome:u1' });
    const res = await admin('GET', `/api/jobs/${id}`);
    expect(res.json).toMatchObject({ id, type: 'send-welcome-email', status: 'pending', attempts: 0, maxAttempts: 5, idempotencyKey: 'welcome:u1' });
    expect(res.json).not.toHaveProperty('lockToken');
    expect(new Date(res.json.createdAt).toISOString()).toBe(res.json.createdAt);
    expect((await admin('GET', `/api/jobs/${randomUUID()}`)).status).toBe(404);
    expect((await admin('GET', '/api/jobs/not-a-uuid')).status).toBe(400);
  });

  it('POST /api/jobs/:id/retry puts a dead job back to pending with attempts reset; other states 409', async () => {
    const id = await deadJob();
    expect(await jobRow(api.db, id)).toMatchObject({ status: 'dead', attempts: 1 });
    const res = await admin('POST', `/api/jobs/${id}/retry`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, status: 'pending', attempts: 0 });
    expect((await jobRow(api.db, id))!.due_in_ms).toBeLessThanOrEqual(0);
    const again = await admin('POST', `/api/jobs/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'job_state_conflict', status: 'pending' });
    expect((await admin('POST', `/api/jobs/${randomUUID()}/retry`)).status).toBe(404);
    expect((await admin('GET', `/api/jobs/${id}/retry`)).status).toBe(405);
  });

  it('DELETE /api/jobs/:id cancels pending and dead jobs; a running one is asked to stop and runs on until its drain sees it', async () => {
    const pending = await enqueue('p');
    const cancelled = await admin('DELETE', `/api/jobs/${pending}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.cancelled).toMatchObject({ id: pending, status: 'cancelled', cancelledAt: expect.any(String) });
    const again = await admin('DELETE', `/api/jobs/${pending}`);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ status: 'cancelled' });
    expect((await admin('DELETE', `/api/jobs/${randomUUID()}`)).status).toBe(404);
    const dead = await deadJob();
    expect((await admin('DELETE', `/api/jobs/${dead}`)).status).toBe(200);

    const running = await enqueue('r');
    const claim = await jobClaim(api.db, { token: randomUUID(), limit: 1, types: ['send-welcome-email'], app: 'test', leaseMs: 60_000, outcomes: [], rescueLimit: 0, flow: null });
    expect(claim.jobs.map((j) => j.id)).toEqual([running]);
    const asked = await admin('DELETE', `/api/jobs/${running}`);
    expect(asked.status, asked.text).toBe(200);
    expect(asked.json.cancelled).toMatchObject({ id: running, status: 'running', cancelRequestedAt: expect.any(String) });
    expect((await admin('POST', `/api/jobs/${running}/retry`)).status).toBe(409);
    expect(await jobRow(api.db, running)).toMatchObject({ status: 'running' });
  });

  it('GET /api/queue/stats counts jobs by status and type', async () => {
    await enqueue('a');
    await enqueue('b');
    await deadJob();
    const res = await admin('GET', '/api/queue/stats');
    expect(res.json).toMatchObject({ pending: 2, running: 0, dead: 1, byType: { 'send-welcome-email': { pending: 2, dead: 1 } } });
  });

  it.each([
    ['GET', '/api/jobs'], ['GET', `/api/jobs/${randomUUID()}`], ['DELETE', `/api/jobs/${randomUUID()}`],
    ['POST', `/api/jobs/${randomUUID()}/retry`], ['GET', '/api/queue/stats'],
  ])('%s %s needs ADMIN_SECRET: 401 without or with another secret, 500 when unset', async (method, path) => {
    const id = await enqueue('kept');
    for (const token of [undefined, 'wrong', SECRETS.ENQUEUE_SECRET, SECRETS.CRON_SECRET]) {
      const res = await api.call(method, path.replace(/[0-9a-f-]{36}/, id), { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    setEnv({ ADMIN_SECRET: undefined });
    const res = await admin(method, path);
    expect(res.status).toBe(500);
    expect(res.json.error).toMatch(/ADMIN_SECRET is not set/);
    expect(await jobRow(api.db, id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await countJobs(api.db)).toBe(1);
  });
});
