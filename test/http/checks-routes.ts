// Health, the drain routes and the example app's signup. Registered by httpSuite (suite.ts) for each runtime.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearer, SECRETS, SUMMARY, welcome, type SuiteContext } from './context.js';

export function routesChecks(t: SuiteContext): void {
  const { enqueue, admin, enqueueOne, deadJob, expectNoStore, expect401, expect405, expectIssues } = t;
  describe('GET /api/health', () => {
    // With a secret: a fresh reading with the counts. Without one: { ok } and the status, at most a few seconds old.
    const health = () => t.call('GET', '/api/health', { token: SECRETS.ADMIN_SECRET });

    it('is 200 { ok: true, problems: [] } with counts for a caller with a secret, { ok } for anyone, not cached', async () => {
      const res = await health();
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.json).toMatchObject({ ok: true, problems: [], pending: 0, running: 0, dead: 0 });
      expectNoStore(res);
      const open = await t.call('GET', '/api/health');
      expect(open.json).toEqual({ ok: true });
      expectNoStore(open);
    });

    it('answers HEAD like GET, without a body', async () => {
      const get = await t.call('GET', '/api/health');
      const head = await t.call('HEAD', '/api/health');
      expect(head.status).toBe(get.status);
      expect(head.text).toBe('');
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expectNoStore(head);
    });

    it('is 503 when a due job waited too long or a job is dead, naming the problem and no payload', async () => {
      await enqueueOne({ runAt: new Date(Date.now() - 3_600_000).toISOString() }, welcome({ email: 'secret-person@example.com' }));
      const late = await health();
      expect(late.status, late.text).toBe(503);
      expect(late.json).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.stringMatching(/oldest pending job has waited/)]) });
      expect(late.text).not.toMatch(/secret-person/);
      await t.db.deleteAllJobs();
      await deadJob();
      const dead = await health();
      expect(dead.status, dead.text).toBe(503);
      expect(dead.json).toMatchObject({ ok: false, dead: 1, problems: [expect.stringMatching(/1 dead job \(/)] });
    });

    it('answers other methods 405 with Allow', async () => {
      expect405(await t.call('POST', '/api/health'), ['GET']);
    });
  });

  describe('GET /api/cron/drain', () => {
    it('drains every due job with CRON_SECRET and answers the summary', async () => {
      await enqueue({ jobs: Array.from({ length: 3 }, () => ({ type: 'send-welcome-email', payload: welcome() })) });
      const res = await t.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ ...SUMMARY, claimed: 3, completed: 3, dead: 0, stoppedBy: 'empty' });
      expect(t.webhook.received).toHaveLength(3);
      // Every one completed, kept as the run history.
      expect([await t.db.countJobs("status <> 'completed'"), await t.db.countJobs("status = 'completed'")]).toEqual([0, 3]);
    });

    it('refuses other tokens (401, Bearer) and other methods (405, Allow), draining nothing', async () => {
      await enqueueOne();
      for (const token of [undefined, 'wrong', SECRETS.ADMIN_SECRET, SECRETS.ENQUEUE_SECRET]) {
        expect401(await t.call('GET', '/api/cron/drain', { token }));
      }
      expect405(await t.call('POST', '/api/cron/drain', { token: SECRETS.CRON_SECRET }), ['GET']);
      expect(await t.db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
      expect(t.webhook.received).toHaveLength(0);
    });
  });

  describe('POST /api/drain', () => {
    const drain = (json?: unknown, token?: string | null) => t.call('POST', '/api/drain', { token: bearer(token, SECRETS.CRON_SECRET), json });

    it('drains with CRON_SECRET (DRAIN_SECRET unset), without a body, and answers the summary', async () => {
      await enqueueOne();
      await enqueueOne();
      const res = await drain(undefined);
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ ...SUMMARY, claimed: 2, completed: 2, stoppedBy: 'empty' });
      expect(await t.db.countJobs("status <> 'completed'")).toBe(0);
    });

    it('honours maxJobs, types and budgetMs', async () => {
      await enqueue({ jobs: Array.from({ length: 3 }, () => ({ type: 'send-welcome-email', payload: welcome() })) });
      expect((await drain({ maxJobs: 1 })).json).toMatchObject({ ...SUMMARY, claimed: 1, stoppedBy: 'maxJobs' });
      expect((await drain({ types: ['send-welcome-email'], budgetMs: 20_000 })).json).toMatchObject({ ...SUMMARY, claimed: 2, stoppedBy: 'empty' });
    });

    it.each([
      [{ budgetMs: -1 }, /budgetMs/, true], [{ maxJobs: 'all' }, /maxJobs/, true], [{ types: [] }, /types/, true],
      [{ types: ['nope'] }, /known types: send-welcome-email/, false], [{ concurrency: 5 }, /concurrency/, true],
    ])('answers %j 400 and drains nothing', async (body, message, issues) => {
      await enqueueOne();
      const res = await drain(body);
      expect(res.status, res.text).toBe(400);
      expect(res.json?.error).toMatch(message);
      if (issues) expectIssues(res);
      expect(await t.db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
    });

    it('answers bad JSON 400, a form 415, other methods 405 and other tokens 401, draining nothing', async () => {
      await enqueueOne();
      expect((await t.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
      expect((await t.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, body: 'maxJobs=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
      expect405(await t.call('GET', '/api/drain', { token: SECRETS.CRON_SECRET }), ['POST']);
      for (const token of [null, 'wrong', SECRETS.ADMIN_SECRET, SECRETS.ENQUEUE_SECRET]) expect401(await drain({}, token));
      expect(await t.db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
    });
  });

  describe('POST /api/signup', () => {
    const signup = (json: unknown) => t.call('POST', '/api/signup', { json });

    const welcomeJobs = (email: string) => t.db.countJobs("type = 'send-welcome-email' and payload->>'email' = $1", [email]);

    it('creates the user (202 { accepted: true }) and enqueues send-welcome-email with it', async () => {
      const email = `Ada-${randomUUID()}@Example.com`;
      const res = await signup({ email, name: 'Ada' });
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ accepted: true });
      const [user] = await t.db.query<{ id: string; name: string }>('select id, name from users where email = $1', [email.toLowerCase()]);
      expect(user).toMatchObject({ name: 'Ada' });
      const [job] = await t.db.query<{ payload: unknown }>(`select payload from ${t.db.jobsTable} where payload->>'email' = $1`, [email.toLowerCase()]);
      expect(job?.payload).toEqual({ userId: user!.id, email: email.toLowerCase(), name: 'Ada' });
    });

    it('answers a taken email exactly as a new one and enqueues no second welcome', async () => {
      const email = `taken-${randomUUID()}@example.com`;
      const first = await signup({ email, name: 'Ada' });
      const again = await signup({ email: email.toUpperCase(), name: 'Ada Again' });
      expect([again.status, again.text]).toEqual([first.status, first.text]);
      expect(await welcomeJobs(email)).toBe(1);
    });

    it.each([
      ['an invalid email', 400, { json: { email: 'nope', name: 'A' } }, true],
      ['a missing name', 400, { json: { email: 'a@example.com' } }, true],
      ['an unknown field', 400, { json: { email: 'a@example.com', name: 'A', admin: true } }, true],
      ['a NUL in the name', 400, { json: { email: 'a@example.com', name: 'A\u0000' } }, true],
      ['a top-level __proto__ key', 400, { body: '{"email":"proto@example.com","name":"A","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }, false],
      ['bad JSON', 400, { body: '{"email"', headers: { 'content-type': 'application/json' } }, false],
      ['a form', 415, { body: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, false],
    ])('answers %s %i, creating nothing', async (_name, status, opts, issues) => {
      const res = await t.call('POST', '/api/signup', opts);
      expect(res.status, res.text).toBe(status);
      expect(typeof res.json?.error).toBe('string');
      if (issues) expectIssues(res);
      expect(await t.db.countJobs()).toBe(0);
    });

    it('answers other methods 405 with Allow', async () => {
      expect405(await t.call('GET', '/api/signup'), ['POST']);
    });
  });

  it('answers an unknown path under /api 404', async () => {
    expect((await t.call('GET', '/api/nope')).status).toBe(404);
    expect((await t.call('GET', '/api/jobs/00000000-0000-0000-0000-000000000000/nope')).status).toBe(404);
  });
}
