import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendWelcomeEmail } from '../lib/jobs/index.js';
import { drain, enqueue } from '../lib/queue/index.js';
import { SECRETS, setEnv, startApi, startApiWithWebhook } from './support/api.js';
import { countJobs, jobRow, select } from './support/sql.js';

let api: Awaited<ReturnType<typeof startApi>>;
let webhook: Awaited<ReturnType<typeof startApiWithWebhook>>['webhook'];
let close = async () => {};
beforeAll(async () => { ({ api, webhook, close } = await startApiWithWebhook()); });
afterAll(() => close());
beforeEach(async () => {
  setEnv(SECRETS);
  webhook.status = 200;
  webhook.received.length = 0;
  await api.db.execute(sql`truncate sluice.jobs, users, sent_emails`);
});

const signup = (json: unknown) => api.call('POST', '/api/signup', { json });
const count = async (table: 'users' | 'sent_emails') =>
  (await select<{ n: number }>(api.db, sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!.n;

describe('POST /api/signup', () => {
  it('creates the user and enqueues send-welcome-email in the same transaction', async () => {
    const res = await signup({ email: 'Ada@Example.com', name: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.json.user).toEqual({ id: expect.any(String), email: 'ada@example.com', name: 'Ada' });
    expect(await jobRow(api.db, res.json.jobId)).toMatchObject({
      type: 'send-welcome-email', status: 'pending', payload: { userId: res.json.user.id, email: 'ada@example.com', name: 'Ada' },
    });
  });

  it('a failed user insert (email taken) answers 409 and leaves no job behind', async () => {
    expect((await signup({ email: 'ada@example.com', name: 'Ada' })).status).toBe(201);
    const again = await signup({ email: 'ADA@example.com', name: 'Ada Again' });
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('email_taken');
    expect(await count('users')).toBe(1);
    expect(await countJobs(api.db)).toBe(1);
  });

  it.each([
    ['an invalid email', { json: { email: 'nope', name: 'A' } }, 400],
    ['a missing name', { json: { email: 'a@example.com' } }, 400],
    ['an unknown field', { json: { email: 'a@example.com', name: 'A', admin: true } }, 400],
    ['a NUL in the name', { json: { email: 'a@example.com', name: 'A\u0000' } }, 400],
    ['a lone surrogate in the name', { json: { email: 'a@example.com', name: 'A\udc00' } }, 400],
    ['bad JSON', { body: '{"email"', headers: { 'content-type': 'application/json' } }, 400],
    ['no JSON', { body: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
  ])('rejects %s and inserts nothing', async (_name, opts, status) => {
    const res = await api.call('POST', '/api/signup', opts);
    expect(res.status).toBe(status);
    expect(await count('users')).toBe(0);
    expect(await countJobs(api.db)).toBe(0);
  });

  it('answers 405 to GET', async () => {
    expect((await api.call('GET', '/api/signup')).status).toBe(405);
  });
});

describe('send-welcome-email', () => {
  it('sends one email however often it runs', async () => {
    const { json } = await signup({ email: 'grace@example.com', name: 'Grace' });
    const first = await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(first.json).toMatchObject({ completed: 1 });
    expect(webhook.received).toEqual([{ body: { to: 'grace@example.com', subject: 'Welcome to Sluice, Grace!', text: expect.stringContaining('Grace') } }]);
    // The same job again (a crash after sending, a replay): the sent_emails key stops it.
    await enqueue(api.db, sendWelcomeEmail, { userId: json.user.id, email: 'grace@example.com', name: 'Grace' });
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ completed: 1 });
    expect(webhook.received).toHaveLength(1);
    expect(await count('sent_emails')).toBe(1);
  });

  it('two runs at once still send one email', async () => {
    const { json } = await signup({ email: 'linus@example.com', name: 'Linus' });
    await enqueue(api.db, sendWelcomeEmail, { userId: json.user.id, email: 'linus@example.com', name: 'Linus' });
    const summary = await drain(api.db, [sendWelcomeEmail], { concurrency: 2 });
    expect(summary).toMatchObject({ claimed: 2, completed: 2 });
    expect(webhook.received).toHaveLength(1);
  });

  it('a failed delivery records nothing, so the retry sends', async () => {
    const { json } = await signup({ email: 'barbara@example.com', name: 'Barbara' });
    webhook.status = 503;
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ retried: 1 });
    expect(await count('sent_emails')).toBe(0);
    webhook.status = 200;
    await api.db.execute(sql`update sluice.jobs set run_after = now() where id = ${json.jobId}`); // skip the backoff
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ completed: 1 });
    expect(webhook.received).toHaveLength(2);
    expect(await count('sent_emails')).toBe(1);
  });

  it('logs instead of posting when EMAIL_WEBHOOK_URL is unset', async () => {
    setEnv({ EMAIL_WEBHOOK_URL: undefined });
    await signup({ email: 'alan@example.com', name: 'Alan' });
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ completed: 1 });
    expect(webhook.received).toHaveLength(0);
    expect(await count('sent_emails')).toBe(1);
    setEnv({ EMAIL_WEBHOOK_URL: webhook.url });
  });
});
