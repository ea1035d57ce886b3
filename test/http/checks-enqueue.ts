// Enqueue: POST /api/jobs, its limits and the hostile bodies that must never be a 500. Registered by httpSuite (suite.ts) for each runtime.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SECRETS, welcome, type SuiteContext } from './context.js';
import { type Answer, deepArray, deepObject } from './support.js';

export function enqueueChecks(t: SuiteContext): void {
  const { enqueue, enqueueRaw, admin, enqueueOne, expect401, expect405, expectIssues, options } = t;
  describe('POST /api/jobs', () => {
    it('enqueues one job: 202 { id, duplicate: false, replaced: false }, stored with its payload and options', async () => {
      const payload = welcome();
      const res = await enqueue({ type: 'send-welcome-email', payload, priority: 7, delayMs: 60_000 });
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ id: expect.any(String), duplicate: false, replaced: false });
      const row = await t.db.jobRow(res.json.id);
      expect(row).toMatchObject({ type: 'send-welcome-email', status: 'pending', priority: 7, payload });
      expect(row!.due_in_ms).toBeGreaterThan(50_000);
    });

    it('an idempotency key answers the existing job with duplicate: true', async () => {
      const first = await enqueue({ type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' });
      const again = await enqueue({ type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' });
      expect(again.status).toBe(202);
      expect(again.json).toEqual({ id: first.json.id, duplicate: true, replaced: false });
      expect(await t.db.countJobs()).toBe(1);
    });

    it('enqueues a bulk: 202 { ids, duplicate, replaced } in order', async () => {
      const first = await enqueueOne({ idempotencyKey: 'k1' });
      const res = await enqueue({ jobs: [
        { type: 'send-welcome-email', payload: welcome() },
        { type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' },
        { type: 'send-welcome-email', payload: welcome(), runAt: new Date(Date.now() + 3_600_000).toISOString(), priority: 3 },
      ] });
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ ids: [expect.any(String), first, expect.any(String)], duplicate: [false, true, false], replaced: [false, false, false] });
      expect(await t.db.countJobs()).toBe(3);
    });

    it.each([
      ['no token', null], ['a wrong token', 'nope'], ['the admin token', SECRETS.ADMIN_SECRET], ['the cron token', SECRETS.CRON_SECRET],
    ])('answers %s 401 with WWW-Authenticate: Bearer, inserting nothing', async (_name, token) => {
      expect401(await enqueue({ type: 'send-welcome-email', payload: welcome() }, token));
      expect(await t.db.countJobs()).toBe(0);
    });

    it('answers a token without "Bearer " 401', async () => {
      expect401(await t.call('POST', '/api/jobs', { headers: { authorization: SECRETS.ENQUEUE_SECRET }, json: { type: 'send-welcome-email', payload: welcome() } }));
    });

    const rejected: [string, () => Promise<Answer>, RegExp, boolean][] = [
      ['bad JSON', () => enqueueRaw('{"type":'), /JSON/i, false],
      ['a payload failing its schema', () => enqueue({ type: 'send-welcome-email', payload: welcome({ email: 'not-an-email' }) }), /email/, true],
      ['an unknown type', () => enqueue({ type: 'send-weclome-email', payload: welcome() }), /known types: send-welcome-email/, false],
      ['an unknown option', () => enqueue({ type: 'send-welcome-email', payload: welcome(), priorty: 1 }), /priorty/, true],
      ['runAt and delayMs both', () => enqueue({ type: 'send-welcome-email', payload: welcome(), delayMs: 1, runAt: new Date().toISOString() }), /not both/, true],
      ['a bulk with one bad item', () => enqueue({ jobs: [{ type: 'send-welcome-email', payload: welcome() }, { type: 'send-welcome-email', payload: {} }] }), /jobs\[1\]/, true],
      ['a bulk over 1,000 jobs', () => enqueue({ jobs: Array.from({ length: 1001 }, () => ({ type: 'send-welcome-email', payload: welcome() })) }), /1000/, true],
      ['an empty bulk', () => enqueue({ jobs: [] }), /jobs/, true],
      ['a JSON array', () => enqueue([{ type: 'send-welcome-email', payload: welcome() }]), /invalid request/, true],
      ['a "job" key', () => enqueue({ type: 'send-welcome-email', job: 'internal-only', payload: welcome() }), /"job" is not accepted/, true],
      ['a NUL character in the payload', () => enqueue({ type: 'send-welcome-email', payload: welcome({ name: 'A\u0000da' }) }), /NUL/, false],
      ['a lone surrogate in the payload', () => enqueue({ type: 'send-welcome-email', payload: welcome({ name: '\ud800' }) }), /surrogate/, false],
    ];
    it.each(rejected)('answers %s 400 saying why, inserting nothing', async (_name, send, message, issues) => {
      const res = await send();
      expect(res.status, res.text).toBe(400);
      expect(res.json?.error).toMatch(message);
      if (issues) expectIssues(res);
      expect(await t.db.countJobs()).toBe(0);
    });

    it('lists the zod issues of a bad payload, and the known types of an unknown one', async () => {
      const bad = await enqueue({ type: 'send-welcome-email', payload: welcome({ email: 'x' }) });
      expect(bad.json.issues).toEqual([expect.objectContaining({ path: ['email'] })]);
      const unknown = await enqueue({ type: 'nope', payload: {} });
      expect(unknown.json).toMatchObject({ code: 'unknown_job_type', known: ['send-welcome-email'] });
    });

    it.each([['tomorrow'], ['2030-01-01T08:00:00'], ['2030-13-01T08:00:00Z'], [1_900_000_000_000]])(
      'answers runAt %j 400 saying an ISO 8601 date-time with an offset is expected', async (runAt) => {
        const res = await enqueue({ type: 'send-welcome-email', payload: welcome(), runAt });
        expect(res.status, res.text).toBe(400);
        expect(res.json?.error).toMatch(/ISO 8601/);
        expect(res.json?.error).toMatch(/offset/);
        expect(await t.db.countJobs()).toBe(0);
      });

    it('answers a top-level __proto__ key 400 like any unknown key, in one job and in a bulk', async () => {
      const one = await enqueueRaw(`{"type":"send-welcome-email","payload":${JSON.stringify(welcome())},"__proto__":{"priority":9}}`);
      expect(one.status, one.text).toBe(400);
      expect(one.json?.error).toMatch(/__proto__/);
      const bulk = await enqueueRaw(`{"jobs":[{"type":"send-welcome-email","payload":${JSON.stringify(welcome())}}],"__proto__":{"x":1}}`);
      expect(bulk.status, bulk.text).toBe(400);
      expect(bulk.json?.error).toMatch(/__proto__/);
      expect(await t.db.countJobs()).toBe(0);
    });

    it('answers 413 for a payload over SLUICE_MAX_PAYLOAD_BYTES', async () => {
      const res = await enqueue({ type: 'send-welcome-email', payload: welcome({ userId: 'u'.repeat(100), name: 'A'.repeat(200) }) });
      expect(res.status, res.text).toBe(413);
      expect(res.json?.error).toMatch(/limit is 256/);
      expect(await t.db.countJobs()).toBe(0);
    });

    it('answers 413 naming the item for a bulk with one oversized payload, inserting nothing', async () => {
      const jobs = Array.from({ length: 5 }, () => ({ type: 'send-welcome-email', payload: welcome() }));
      jobs[3]!.payload = welcome({ userId: 'u'.repeat(100), name: 'A'.repeat(200) });
      const res = await enqueue({ jobs });
      expect(res.status, res.text).toBe(413);
      expect(res.json?.error).toMatch(/^jobs\[3\]: /);
      expect(await t.db.countJobs()).toBe(0);
    });

    it('answers 413 for a body over SLUICE_MAX_BODY_BYTES', async () => {
      const res = await enqueue({ type: 'send-welcome-email', payload: welcome({ name: 'A'.repeat(300 * 1024) }) });
      expect(res.status, res.text).toBe(413);
      expect(await t.db.countJobs()).toBe(0);
    });

    const chunkedRefused = options.platform?.chunkedRequestsRefused;
    if (chunkedRefused) {
      it(`never lets a chunked body reach the app (${chunkedRefused}): refused, nothing inserted`, async () => {
        const body = JSON.stringify({ type: 'send-welcome-email', payload: welcome() });
        const res = await t.call('POST', '/api/jobs', {
          token: SECRETS.ENQUEUE_SECRET, body: new Blob([body]).stream(), headers: { 'content-type': 'application/json' },
        });
        expect(res.status, res.text).toBeGreaterThanOrEqual(400);
        expect(await t.db.countJobs()).toBe(0);
      });
    }

    if (!chunkedRefused) it('answers 413 for a chunked body over SLUICE_MAX_BODY_BYTES (no Content-Length)', async () => {
      const big = JSON.stringify({ type: 'send-welcome-email', payload: welcome({ name: 'A'.repeat(300 * 1024) }) });
      const res = await t.call('POST', '/api/jobs', {
        token: SECRETS.ENQUEUE_SECRET, body: new Blob([big]).stream(), headers: { 'content-type': 'application/json' },
      });
      expect(res.status, res.text).toBe(413);
      expect(await t.db.countJobs()).toBe(0);
    });

    if (!chunkedRefused) it('accepts a small chunked body', async () => {
      const body = JSON.stringify({ type: 'send-welcome-email', payload: welcome() });
      const res = await t.call('POST', '/api/jobs', {
        token: SECRETS.ENQUEUE_SECRET, body: new Blob([body]).stream(), headers: { 'content-type': 'application/json' },
      });
      expect(res.status, res.text).toBe(202);
    });

    it.each([
      ['a form', 'application/x-www-form-urlencoded', 'type=send-welcome-email'],
      ['plain text', 'text/plain', '{"type":"send-welcome-email"}'],
    ])('answers %s 415 naming application/json', async (_name, type, body) => {
      const res = await t.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body, headers: { 'content-type': type } });
      expect(res.status, res.text).toBe(415);
      expect(res.json?.error).toMatch(/application\/json/);
    });

    it('answers other methods 405 with Allow', async () => {
      expect405(await t.call('PUT', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome() } }), ['GET', 'POST']);
      expect405(await t.call('PATCH', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET }), ['GET', 'POST']);
      expect(await t.db.countJobs()).toBe(0);
    });
  });

  describe('hostile JSON bodies are 400 or 413, never 500', () => {
    const routes: [string, string, string | undefined, (deep: string) => string][] = [
      ['POST /api/jobs (payload)', '/api/jobs', SECRETS.ENQUEUE_SECRET, (deep) => `{"type":"send-welcome-email","payload":${deep}}`],
      ['POST /api/jobs (option)', '/api/jobs', SECRETS.ENQUEUE_SECRET, (deep) => `{"type":"send-welcome-email","payload":${JSON.stringify(welcome())},"idempotencyKey":${deep}}`],
      ['POST /api/jobs (whole body)', '/api/jobs', SECRETS.ENQUEUE_SECRET, (deep) => deep],
      ['POST /api/drain', '/api/drain', SECRETS.CRON_SECRET, (deep) => `{"types":${deep}}`],
      ['POST /api/drain (whole body)', '/api/drain', SECRETS.CRON_SECRET, (deep) => deep],
      ['POST /api/signup', '/api/signup', undefined, (deep) => `{"email":"deep-${randomUUID()}@example.com","name":${deep}}`],
      ['POST /api/signup (whole body)', '/api/signup', undefined, (deep) => deep],
    ];
    const cases = routes.flatMap(([label, path, token, wrap]) => [
      [`${label}, arrays 5,001 deep`, path, token, wrap(deepArray(5_001))],
      [`${label}, arrays 100,000 deep`, path, token, wrap(deepArray(100_000))],
      [`${label}, objects 20,000 deep`, path, token, wrap(deepObject(20_000))],
    ] as const);
    it.each(cases)('%s', async (_label, path, token, body) => {
      const before = await t.db.countJobs();
      const res = await t.call('POST', path, { token, body, headers: { 'content-type': 'application/json' } });
      expect([400, 413], `status ${res.status}: ${res.text.slice(0, 300)}`).toContain(res.status);
      expect(typeof res.json?.error).toBe('string');
      expect(await t.db.countJobs()).toBe(before);
    });
  });

  describe('POST /api/events', () => {
    const send = (json: unknown, token?: string | null) =>
      t.call('POST', '/api/events', { headers: token === null ? {} : { authorization: `Bearer ${token ?? SECRETS.ENQUEUE_SECRET}` }, json });
    const events = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from sluice.events'))[0]!.n;

    it('sends an event: 202 { id, delivered }', async () => {
      const res = await send({ name: 'order.approved', key: 'o1', data: { by: 'ada' } });
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ id: expect.any(String), delivered: 0 });
    });

    it.each([['no token', null], ['the admin token', SECRETS.ADMIN_SECRET]])('answers %s 401, sending nothing', async (_name, token) => {
      const before = await events();
      expect401(await send({ name: 'order.approved' }, token));
      expect(await events()).toBe(before);
    });

    it.each([
      ['no name', { key: 'o1' }],
      ['a name with a NUL', { name: 'a\u0000b' }],
      ['an unknown field', { name: 'x', payload: {} }],
      ['a key that is not a string', { name: 'x', key: 7 }],
    ])('answers %s 400 with the zod issues, sending nothing', async (_name, body) => {
      const before = await events();
      const res = await send(body);
      expect(res.status, res.text).toBe(400);
      expectIssues(res);
      expect(await events()).toBe(before);
    });

    it('answers 413 for data over SLUICE_MAX_PAYLOAD_BYTES', async () => {
      const res = await send({ name: 'x', data: { note: 'A'.repeat(300) } });
      expect(res.status, res.text).toBe(413);
    });
  });
}
