import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendWelcomeEmail } from '../lib/app/jobs/index.js';
import { drain, enqueue } from '../lib/queue/index.js';
import { SECRETS, setEnv, startApi, startApiWithWebhook } from './support/api.js';
import { countJobs, jobRow, select, UNFINISHED } from './support/sql.js';

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
const user = async (email: string) => (await select<{ id: string; name: string }>(api.db, sql`select id, name from users where email = ${email}`))[0]!;
const welcomeJobs = () => select<{ id: string }>(api.db, sql`select id from sluice.jobs where type = 'send-welcome-email' order by id`);
const drainNow = () => api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });

describe('POST /api/signup', () => {
  it('creates the user and enqueues send-welcome-email in the same transaction; answers 202 { accepted: true }', async () => {
    const res = await signup({ email: 'Ada@Example.com', name: 'Ada' });
    expect([res.status, res.json]).toEqual([202, { accepted: true }]);
    const { id } = await user('ada@example.com');
    const [job] = await welcomeJobs();
    expect(await jobRow(api.db, job!.id)).toMatchObject({
      type: 'send-welcome-email', status: 'pending', payload: { userId: id, email: 'ada@example.com', name: 'Ada' },
    });
  });

  it('answers a taken address exactly as a new one, and sends it no second welcome email', async () => {
    const first = await signup({ email: 'ada@example.com', name: 'Ada' });
    const pending = await signup({ email: 'ADA@example.com', name: 'Mallory' }); // while the first job waits
    expect(await welcomeJobs()).toHaveLength(1);
    expect((await drainNow()).json).toMatchObject({ completed: 1 });
    const after = await signup({ email: 'ada@example.com', name: 'Mallory' }); // after it has sent
    for (const res of [pending, after]) {
      expect([res.status, res.text, res.headers.get('content-type')]).toEqual([first.status, first.text, first.headers.get('content-type')]);
    }
    // The later signup's enqueue finds the first run, kept as history, by its idempotency key: no second job.
    expect(await welcomeJobs()).toHaveLength(1);
    expect((await drainNow()).json).toMatchObject({ completed: 0 });
    expect(webhook.received).toEqual([{ body: expect.objectContaining({ to: 'ada@example.com', subject: 'Welcome to Sluice, Ada!' }) }]);
    expect(await count('users')).toBe(1);
    expect((await user('ada@example.com')).name).toBe('Ada'); // a stranger's signup changes nothing
  });

  it('takes concurrent signups of one new address as one: one user, one job, one email', async () => {
    const answers = await Promise.all(['Linus', 'Linus', 'Linux'].map((name) => signup({ email: 'linus@example.com', name })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect([await count('users'), (await welcomeJobs()).length]).toEqual([1, 1]);
    await drainNow();
    expect(webhook.received).toHaveLength(1);
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
    expect(await countJobs(api.db, UNFINISHED)).toBe(0);
  });

  it('answers 405 to GET', async () => {
    expect((await api.call('GET', '/api/signup')).status).toBe(405);
  });
});

describe('send-welcome-email', () => {
  it('sends one email per address however often it runs, whatever user id a job names', async () => {
    await signup({ email: 'grace@example.com', name: 'Grace' });
    const first = await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(first.json).toMatchObject({ completed: 1 });
    expect(webhook.received).toEqual([{ body: { to: 'grace@example.com', subject: 'Welcome to Sluice, Grace!', text: expect.stringContaining('Grace') } }]);
    // The same address again (a crash after sending, a replay, a job enqueued by hand): the sent_emails key stops it.
    await enqueue(api.db, sendWelcomeEmail, { userId: 'another-user', email: 'Grace@Example.com', name: 'Grace' });
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ completed: 1 });
    expect(webhook.received).toHaveLength(1);
    expect(await count('sent_emails')).toBe(1);
  });

  it('two runs at once still send one email', async () => {
    await signup({ email: 'linus@example.com', name: 'Linus' });
    await enqueue(api.db, sendWelcomeEmail, { userId: (await user('linus@example.com')).id, email: 'linus@example.com', name: 'Linus' });
    const summary = await drain(api.db, [sendWelcomeEmail], { concurrency: 2 });
    expect(summary).toMatchObject({ claimed: 2, completed: 2 });
    expect(webhook.received).toHaveLength(1);
  });

  it('a failed delivery records nothing, so the retry sends', async () => {
    await signup({ email: 'barbara@example.com', name: 'Barbara' });
    const [job] = await welcomeJobs();
    webhook.status = 503;
    expect((await api.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json).toMatchObject({ retried: 1 });
    expect(await count('sent_emails')).toBe(0);
    webhook.status = 200;
    await api.db.execute(sql`update sluice.jobs set run_after = now() where id = ${job!.id}`); // skip the backoff
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
