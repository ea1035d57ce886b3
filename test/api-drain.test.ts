import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS, setEnv, startApi, startApiWithWebhook } from './support/api.js';
import { countJobs, UNFINISHED, waitFor } from './support/sql.js';

let api: Awaited<ReturnType<typeof startApi>>;
let webhook: Awaited<ReturnType<typeof startApiWithWebhook>>['webhook'];
let close = async () => {};
beforeAll(async () => { ({ api, webhook, close } = await startApiWithWebhook()); });
afterAll(() => close());
beforeEach(async () => {
  setEnv({ ...SECRETS, DRAIN_SECRET: undefined, DRAIN_MAX_DURATION_MS: undefined, DRAIN_SAFETY_MARGIN_MS: undefined, ALERT_DEAD_MAX: undefined });
  webhook.status = 200;
  webhook.received.length = 0;
  await api.db.execute(sql`delete from sluice.jobs`);
  await api.db.execute(sql`delete from sent_emails`);
});

const VERCEL_CONTEXT = Symbol.for('@vercel/request-context');
afterEach(() => { delete (globalThis as Record<symbol, unknown>)[VERCEL_CONTEXT]; });

const enqueue = async (n: number, extra: object = {}) => {
  const jobs = Array.from({ length: n }, (_, i) => ({ type: 'send-welcome-email', payload: { userId: `u${i}`, email: `u${i}@example.com`, name: 'U' }, ...extra }));
  const res = await api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { jobs } });
  expect(res.status).toBe(202);
};

describe('GET /api/cron/drain', () => {
  it('drains every due job with CRON_SECRET and answers the summary', async () => {
    await enqueue(3);
    const res = await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ claimed: 3, completed: 3, dead: 0, stoppedBy: 'empty' });
    expect(webhook.received).toHaveLength(3);
    expect(await countJobs(api.db, UNFINISHED)).toBe(0);
  });

  it('refuses other tokens, other methods and a missing CRON_SECRET, running nothing', async () => {
    await enqueue(1);
    for (const token of [undefined, 'wrong', SECRETS.ADMIN_SECRET, SECRETS.ENQUEUE_SECRET]) {
      expect((await api.call('GET', '/api/cron/drain', { token })).status).toBe(401);
    }
    expect((await api.call('POST', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).status).toBe(405);
    setEnv({ CRON_SECRET: undefined });
    const res = await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(res.status).toBe(500);
    expect(res.json.error).toMatch(/CRON_SECRET is not set/);
    expect(await countJobs(api.db, sql`status = 'pending' and attempts = 0`)).toBe(1);
    expect(webhook.received).toHaveLength(0);
  });

  it("stops at the platform's deadline (getDeadline) less DRAIN_SAFETY_MARGIN_MS", async () => {
    await enqueue(2);
    // What Vercel's runtime provides: a request context whose deadline is 1 s away, within the 3 s margin.
    (globalThis as Record<symbol, unknown>)[VERCEL_CONTEXT] = { get: () => ({ deadline: Date.now() + 1_000 }) };
    const res = await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(res.json).toMatchObject({ claimed: 0, stoppedBy: 'deadline' });
    expect(await countJobs(api.db, sql`status = 'pending'`)).toBe(2);
  });

  it('without a platform deadline uses DRAIN_MAX_DURATION_MS less the margin', async () => {
    await enqueue(1);
    setEnv({ DRAIN_MAX_DURATION_MS: '2000', DRAIN_SAFETY_MARGIN_MS: '2000' });
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ claimed: 0, stoppedBy: 'deadline' });
    setEnv({ DRAIN_MAX_DURATION_MS: '60000' });
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ claimed: 1, completed: 1 });
  });
});

describe('POST /api/drain', () => {
  const drain = (json?: unknown, token = SECRETS.CRON_SECRET) => api.call('POST', '/api/drain', { token, json });

  it('takes CRON_SECRET when DRAIN_SECRET is unset, and only DRAIN_SECRET once it is set', async () => {
    await enqueue(2);
    expect((await drain(undefined)).json).toMatchObject({ claimed: 2, completed: 2 });
    setEnv({ DRAIN_SECRET: 'test-drain-secret' });
    await enqueue(1);
    expect((await drain({}, SECRETS.CRON_SECRET)).status).toBe(401);
    expect((await drain({}, 'test-drain-secret')).json).toMatchObject({ claimed: 1 });
    setEnv({ DRAIN_SECRET: undefined, CRON_SECRET: undefined });
    const res = await drain({}, 'test-drain-secret');
    expect(res.status).toBe(500);
    expect(res.json.error).toMatch(/DRAIN_SECRET \(or CRON_SECRET\) is not set/);
  });

  it('honours maxJobs and types', async () => {
    await enqueue(3);
    expect((await drain({ maxJobs: 1 })).json).toMatchObject({ claimed: 1, stoppedBy: 'maxJobs' });
    expect((await drain({ types: ['send-welcome-email'], budgetMs: 5_000 })).json).toMatchObject({ claimed: 2, stoppedBy: 'empty' });
  });

  it.each([
    [{ budgetMs: -1 }, /budgetMs/], [{ maxJobs: 'all' }, /maxJobs/], [{ types: [] }, /types/],
    [{ types: ['nope'] }, /known types: (.*, )?send-welcome-email/], [{ concurrency: 5 }, /concurrency/],
  ])('rejects %j with a 400 and drains nothing', async (body, message) => {
    await enqueue(1);
    const res = await drain(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(message);
    expect(await countJobs(api.db, sql`status = 'pending' and attempts = 0`)).toBe(1);
  });

  // `start` names a drain a kick or another drain started; `continuation`, its old name, still works.
  it.each(['start', 'continuation'])('takes a started drain as { %s }: 202 at once, drained after the response', async (field) => {
    await enqueue(1);
    const res = await drain({ [field]: { reason: 'kick', hop: 0, slot: null } });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: true });
    await waitFor('the started drain to run the job', async () => ((await countJobs(api.db, UNFINISHED)) === 0 ? true : undefined));
  });

  it.each([
    [{ start: { reason: 'kick', hop: 0, slot: null }, continuation: { reason: 'kick', hop: 0, slot: null } }, /start alone/],
    [{ continuation: { reason: 'continue', hop: 1, slot: null }, maxJobs: 1 }, /start comes alone/],
  ])('rejects %j with a 400', async (body, message) => {
    await enqueue(1);
    const res = await drain(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(message);
    expect(await countJobs(api.db, sql`status = 'pending' and attempts = 0`)).toBe(1);
  });

  it('rejects bad JSON, other methods and wrong tokens, draining nothing', async () => {
    await enqueue(1);
    expect((await api.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await api.call('GET', '/api/drain', { token: SECRETS.CRON_SECRET })).status).toBe(405);
    expect((await drain({}, SECRETS.ADMIN_SECRET)).status).toBe(401);
    expect(await countJobs(api.db, sql`status = 'pending' and attempts = 0`)).toBe(1);
  });
});

describe('GET /api/health', () => {
  // With a secret: a fresh reading with the counts (without one: { ok }, test/health.test.ts).
  const health = () => api.call('GET', '/api/health', { token: SECRETS.ADMIN_SECRET });

  it('is 200 when healthy, 503 with dead jobs or a job waiting too long, and reveals no payloads', async () => {
    const ok = await health();
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, problems: [] });

    await enqueue(1, { runAt: new Date(Date.now() - 3_600_000).toISOString() }); // due an hour ago
    const late = await health();
    expect(late.status).toBe(503);
    expect(late.json.problems).toEqual([expect.stringMatching(/oldest pending job has waited/)]);
    expect(late.text).not.toMatch(/example\.com/);

    webhook.status = 400; // the webhook rejects the message: PermanentError, dead at once
    expect((await api.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ dead: 1 });
    const dead = await health();
    expect(dead.status).toBe(503);
    expect(dead.json).toMatchObject({ ok: false, dead: 1, problems: [expect.stringMatching(/1 dead job \(/)] });
    setEnv({ ALERT_DEAD_MAX: '1' });
    expect((await health()).status).toBe(200);
    expect((await api.call('POST', '/api/health')).status).toBe(405);
  });
});
