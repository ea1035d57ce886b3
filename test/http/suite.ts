/**
 * One HTTP test suite for every runtime that serves Sluice (npm run dev, vercel dev, next start, ...):
 * the contract of README "HTTP API" checked over real HTTP, status, JSON body shape and headers only,
 * plus hostile clients that must never get a 500. A runtime is a function that starts a server with
 * the environment the suite hands it and says where it listens:
 *
 *   httpSuite('vercel dev', ({ env }) => startVercelDev({ env }));
 *
 * The suite makes a fresh migrated database for the run, a local email webhook, and the environment
 * (DATABASE_URL, the secrets, small body/payload limits, EMAIL_WEBHOOK_URL), fixed for the server's
 * whole life. It reads the database only through its own SQL (test/http/support.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/db.js';
import { type Answer, type Call, client, deepArray, deepObject, openDatabase, type SuiteDb, startWebhook, type Webhook } from './support.js';

/** The secrets every runtime is started with (the same values as test/support/api.ts). */
export const SECRETS = { ENQUEUE_SECRET: 'test-enqueue-secret', ADMIN_SECRET: 'test-admin-secret', CRON_SECRET: 'test-cron-secret' };
/** Small limits, so 413s take small requests: a welcome payload with a long name is over 256 bytes. */
export const LIMITS = { SLUICE_MAX_PAYLOAD_BYTES: '256', SLUICE_MAX_BODY_BYTES: String(256 * 1024) };

export interface RuntimeServer {
  /** Base URL, no trailing slash: the suite calls `${url}/api/...`. */
  url: string;
  close(): Promise<void>;
}
export interface RuntimeContext {
  /** Exactly the environment to start the server with (it must not pick up other Sluice settings). */
  env: Record<string, string>;
  /** The database the server uses (also in env.DATABASE_URL): migrated unless `migrated: false`. */
  databaseUrl: string;
}
export type StartRuntime = (context: RuntimeContext) => Promise<RuntimeServer>;

export interface SuiteOptions {
  /**
   * false: the suite hands over an empty database and the runtime applies the migrations itself
   * (e.g. an example app's own `npm run db:migrate`). Default: migrated by test/support/db.ts.
   */
  migrated?: boolean;
  /**
   * What the platform does before Sluice sees a request, with the reason, e.g. vercel dev answers any
   * chunked request 500 itself. The suite then checks that instead (refused, nothing inserted).
   */
  platform?: { chunkedRequestsRefused?: string };
}

const welcome = (extra: Partial<{ userId: string; email: string; name: string }> = {}) => ({
  userId: `u-${randomUUID()}`, email: 'ada@example.com', name: 'Ada', ...extra,
});
const allowOf = (res: Answer) => (res.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
const SUMMARY = {
  claimed: expect.any(Number), completed: expect.any(Number), retried: expect.any(Number), dead: expect.any(Number),
  rescued: expect.any(Number), released: expect.any(Number), durationMs: expect.any(Number), stoppedBy: expect.stringMatching(/^(empty|deadline|maxJobs)$/),
};

/**
 * Registers the suite for one runtime. It runs only under vitest.runtimes.config.ts (which sets
 * SLUICE_RUNTIME_SUITE): a plain `npm test` that picks up test/runtimes/ skips it.
 */
export function httpSuite(name: string, start: StartRuntime, options: SuiteOptions = {}): void {
  describe.skipIf(!process.env.SLUICE_RUNTIME_SUITE)(`HTTP API on ${name}`, () => {
    let server: RuntimeServer | undefined;
    let webhook: Webhook;
    let db: SuiteDb;
    let call: Call;
    let closeDatabase = async () => {};

    beforeAll(async () => {
      webhook = await startWebhook();
      const conn = await freshDatabase('pg', { migrated: options.migrated ?? true });
      closeDatabase = () => conn.close();
      const env = { ...SECRETS, ...LIMITS, DATABASE_URL: conn.url, EMAIL_WEBHOOK_URL: webhook.url };
      server = await start({ env, databaseUrl: conn.url });
      call = client(server.url);
      db = await openDatabase(conn.url);
    });
    afterAll(async () => {
      await server?.close();
      await db?.close();
      await closeDatabase();
      await webhook?.close();
    });
    beforeEach(async () => {
      webhook.status = 200;
      webhook.received.length = 0;
      await db.deleteAllJobs();
    });

    // token: undefined is the right secret, null none at all.
    const bearer = (token: string | null | undefined, right: string) => (token === null ? undefined : (token ?? right));
    const enqueue = (json: unknown, token?: string | null) => call('POST', '/api/jobs', { token: bearer(token, SECRETS.ENQUEUE_SECRET), json });
    const enqueueRaw = (body: string) =>
      call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body, headers: { 'content-type': 'application/json' } });
    const admin = (method: string, path: string, token?: string | null) => call(method, path, { token: bearer(token, SECRETS.ADMIN_SECRET) });
    const enqueueOne = async (extra: object = {}, payload = welcome()) => {
      const res = await enqueue({ type: 'send-welcome-email', payload, ...extra });
      expect(res.status, res.text).toBe(202);
      return res.json.id as string;
    };
    /** A dead job, through the routes: the webhook rejects its email (permanent failure) in a drain. */
    const deadJob = async () => {
      const id = await enqueueOne({ priority: 100 }); // claimed before any other
      webhook.status = 400;
      const drained = await call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, json: { maxJobs: 1 } });
      webhook.status = 200;
      expect(drained.json, drained.text).toMatchObject({ claimed: 1, dead: 1 });
      return id;
    };
    const expectNoStore = (res: Answer) => expect(res.headers.get('cache-control') ?? '', `Cache-Control of ${res.status}`).toMatch(/no-store/);
    const expect401 = (res: Answer) => {
      expect(res.status, res.text).toBe(401);
      expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/i);
      expect(res.json?.error).toMatch(/bearer/i);
    };
    const expect405 = (res: Answer, allowed: string[]) => {
      expect(res.status, res.text).toBe(405);
      expect(allowOf(res)).toEqual(expect.arrayContaining(allowed));
    };
    const expectIssues = (res: Answer) => {
      expect(res.status, res.text).toBe(400);
      expect(Array.isArray(res.json?.issues) && res.json.issues.length > 0, `zod issues in ${res.text}`).toBe(true);
    };

    describe('GET /api/health', () => {
      it('is 200 { ok: true, problems: [] } with counts, not cached', async () => {
        const res = await call('GET', '/api/health');
        expect(res.status, res.text).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        expect(res.json).toMatchObject({ ok: true, problems: [], pending: 0, running: 0, dead: 0 });
        expectNoStore(res);
      });

      it('answers HEAD like GET, without a body', async () => {
        const get = await call('GET', '/api/health');
        const head = await call('HEAD', '/api/health');
        expect(head.status).toBe(get.status);
        expect(head.text).toBe('');
        expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
        expectNoStore(head);
      });

      it('is 503 when a due job waited too long or a job is dead, naming the problem and no payload', async () => {
        await enqueueOne({ runAt: new Date(Date.now() - 3_600_000).toISOString() }, welcome({ email: 'secret-person@example.com' }));
        const late = await call('GET', '/api/health');
        expect(late.status, late.text).toBe(503);
        expect(late.json).toMatchObject({ ok: false, problems: [expect.stringMatching(/oldest pending job has waited/)] });
        expect(late.text).not.toMatch(/secret-person/);
        await db.deleteAllJobs();
        await deadJob();
        const dead = await call('GET', '/api/health');
        expect(dead.status, dead.text).toBe(503);
        expect(dead.json).toMatchObject({ ok: false, dead: 1, problems: [expect.stringMatching(/1 dead jobs/)] });
      });

      it('answers other methods 405 with Allow', async () => {
        expect405(await call('POST', '/api/health'), ['GET']);
      });
    });

    describe('POST /api/jobs', () => {
      it('enqueues one job: 202 { id, duplicate: false }, stored with its payload and options', async () => {
        const payload = welcome();
        const res = await enqueue({ type: 'send-welcome-email', payload, priority: 7, delayMs: 60_000 });
        expect(res.status, res.text).toBe(202);
        expect(res.json).toEqual({ id: expect.any(String), duplicate: false });
        const row = await db.jobRow(res.json.id);
        expect(row).toMatchObject({ type: 'send-welcome-email', status: 'pending', priority: 7, payload });
        expect(row!.due_in_ms).toBeGreaterThan(50_000);
      });

      it('an idempotency key answers the existing job with duplicate: true', async () => {
        const first = await enqueue({ type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' });
        const again = await enqueue({ type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' });
        expect(again.status).toBe(202);
        expect(again.json).toEqual({ id: first.json.id, duplicate: true });
        expect(await db.countJobs()).toBe(1);
      });

      it('enqueues a bulk: 202 { ids, duplicate } in order', async () => {
        const first = await enqueueOne({ idempotencyKey: 'k1' });
        const res = await enqueue({ jobs: [
          { type: 'send-welcome-email', payload: welcome() },
          { type: 'send-welcome-email', payload: welcome(), idempotencyKey: 'k1' },
          { type: 'send-welcome-email', payload: welcome(), runAt: new Date(Date.now() + 3_600_000).toISOString(), priority: 3 },
        ] });
        expect(res.status, res.text).toBe(202);
        expect(res.json).toEqual({ ids: [expect.any(String), first, expect.any(String)], duplicate: [false, true, false] });
        expect(await db.countJobs()).toBe(3);
      });

      it.each([
        ['no token', null], ['a wrong token', 'nope'], ['the admin token', SECRETS.ADMIN_SECRET], ['the cron token', SECRETS.CRON_SECRET],
      ])('answers %s 401 with WWW-Authenticate: Bearer, inserting nothing', async (_name, token) => {
        expect401(await enqueue({ type: 'send-welcome-email', payload: welcome() }, token));
        expect(await db.countJobs()).toBe(0);
      });

      it('answers a token without "Bearer " 401', async () => {
        expect401(await call('POST', '/api/jobs', { headers: { authorization: SECRETS.ENQUEUE_SECRET }, json: { type: 'send-welcome-email', payload: welcome() } }));
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
        expect(await db.countJobs()).toBe(0);
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
          expect(await db.countJobs()).toBe(0);
        });

      it('answers a top-level __proto__ key 400 like any unknown key, in one job and in a bulk', async () => {
        const one = await enqueueRaw(`{"type":"send-welcome-email","payload":${JSON.stringify(welcome())},"__proto__":{"priority":9}}`);
        expect(one.status, one.text).toBe(400);
        expect(one.json?.error).toMatch(/__proto__/);
        const bulk = await enqueueRaw(`{"jobs":[{"type":"send-welcome-email","payload":${JSON.stringify(welcome())}}],"__proto__":{"x":1}}`);
        expect(bulk.status, bulk.text).toBe(400);
        expect(bulk.json?.error).toMatch(/__proto__/);
        expect(await db.countJobs()).toBe(0);
      });

      it('answers 413 for a payload over SLUICE_MAX_PAYLOAD_BYTES', async () => {
        const res = await enqueue({ type: 'send-welcome-email', payload: welcome({ userId: 'u'.repeat(100), name: 'A'.repeat(200) }) });
        expect(res.status, res.text).toBe(413);
        expect(res.json?.error).toMatch(/limit is 256/);
        expect(await db.countJobs()).toBe(0);
      });

      it('answers 413 naming the item for a bulk with one oversized payload, inserting nothing', async () => {
        const jobs = Array.from({ length: 5 }, () => ({ type: 'send-welcome-email', payload: welcome() }));
        jobs[3]!.payload = welcome({ userId: 'u'.repeat(100), name: 'A'.repeat(200) });
        const res = await enqueue({ jobs });
        expect(res.status, res.text).toBe(413);
        expect(res.json?.error).toMatch(/^jobs\[3\]: /);
        expect(await db.countJobs()).toBe(0);
      });

      it('answers 413 for a body over SLUICE_MAX_BODY_BYTES', async () => {
        const res = await enqueue({ type: 'send-welcome-email', payload: welcome({ name: 'A'.repeat(300 * 1024) }) });
        expect(res.status, res.text).toBe(413);
        expect(await db.countJobs()).toBe(0);
      });

      const chunkedRefused = options.platform?.chunkedRequestsRefused;
      if (chunkedRefused) {
        it(`never lets a chunked body reach the app (${chunkedRefused}): refused, nothing inserted`, async () => {
          const body = JSON.stringify({ type: 'send-welcome-email', payload: welcome() });
          const res = await call('POST', '/api/jobs', {
            token: SECRETS.ENQUEUE_SECRET, body: new Blob([body]).stream(), headers: { 'content-type': 'application/json' },
          });
          expect(res.status, res.text).toBeGreaterThanOrEqual(400);
          expect(await db.countJobs()).toBe(0);
        });
      }

      if (!chunkedRefused) it('answers 413 for a chunked body over SLUICE_MAX_BODY_BYTES (no Content-Length)', async () => {
        const big = JSON.stringify({ type: 'send-welcome-email', payload: welcome({ name: 'A'.repeat(300 * 1024) }) });
        const res = await call('POST', '/api/jobs', {
          token: SECRETS.ENQUEUE_SECRET, body: new Blob([big]).stream(), headers: { 'content-type': 'application/json' },
        });
        expect(res.status, res.text).toBe(413);
        expect(await db.countJobs()).toBe(0);
      });

      if (!chunkedRefused) it('accepts a small chunked body', async () => {
        const body = JSON.stringify({ type: 'send-welcome-email', payload: welcome() });
        const res = await call('POST', '/api/jobs', {
          token: SECRETS.ENQUEUE_SECRET, body: new Blob([body]).stream(), headers: { 'content-type': 'application/json' },
        });
        expect(res.status, res.text).toBe(202);
      });

      it.each([
        ['a form', 'application/x-www-form-urlencoded', 'type=send-welcome-email'],
        ['plain text', 'text/plain', '{"type":"send-welcome-email"}'],
      ])('answers %s 415 naming application/json', async (_name, type, body) => {
        const res = await call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body, headers: { 'content-type': type } });
        expect(res.status, res.text).toBe(415);
        expect(res.json?.error).toMatch(/application\/json/);
      });

      it('answers other methods 405 with Allow', async () => {
        expect405(await call('PUT', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome() } }), ['GET', 'POST']);
        expect405(await call('PATCH', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET }), ['GET', 'POST']);
        expect(await db.countJobs()).toBe(0);
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
        const before = await db.countJobs();
        const res = await call('POST', path, { token, body, headers: { 'content-type': 'application/json' } });
        expect([400, 413], `status ${res.status}: ${res.text.slice(0, 300)}`).toContain(res.status);
        expect(typeof res.json?.error).toBe('string');
        expect(await db.countJobs()).toBe(before);
      });
    });

    describe('admin: GET /api/jobs', () => {
      it('pages through jobs oldest first with nextCursor, filtered by status and type', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await enqueueOne());
        const seen: string[] = [];
        let cursor = '';
        for (let page = 0; page < 3; page++) {
          const res = await admin('GET', `/api/jobs?limit=2${cursor && `&cursor=${cursor}`}`);
          expect(res.status, res.text).toBe(200);
          expect(res.json.jobs.length).toBeLessThanOrEqual(2);
          seen.push(...res.json.jobs.map((j: { id: string }) => j.id));
          cursor = res.json.nextCursor;
          if (page < 2) expect(cursor).toBe(seen[seen.length - 1]);
        }
        expect(cursor).toBeNull();
        expect(seen).toEqual([...ids].sort()); // ids are UUIDv7: id order is creation order
        const dead = await deadJob();
        const filtered = await admin('GET', '/api/jobs?status=dead&type=send-welcome-email');
        expect(filtered.json.jobs.map((j: { id: string }) => j.id)).toEqual([dead]);
        expect((await admin('GET', '/api/jobs?type=other')).json).toEqual({ jobs: [], nextCursor: null });
      });

      it.each([['limit=0'], ['limit=abc'], ['limit=501'], ['status=done'], ['cursor=xyz'], ['colour=red'], ['status=dead&status=pending']])(
        'answers ?%s 400 with the zod issues', async (query) => {
          expectIssues(await admin('GET', `/api/jobs?${query}`));
        });

      it.each([['type=%00'], ['type=a%00b'], ['status=%00'], ['cursor=%00']])('answers ?%s 400, not 500', async (query) => {
        const res = await admin('GET', `/api/jobs?${query}`);
        expect(res.status, res.text).toBe(400);
      });
    });

    describe('admin: one job', () => {
      it('GET /api/jobs/:id shows the job without its lease token; 404 unknown, 400 malformed', async () => {
        const id = await enqueueOne({ idempotencyKey: 'welcome:u1' });
        const res = await admin('GET', `/api/jobs/${id}`);
        expect(res.status, res.text).toBe(200);
        expect(res.json).toMatchObject({ id, type: 'send-welcome-email', status: 'pending', attempts: 0, maxAttempts: 5, idempotencyKey: 'welcome:u1' });
        expect(res.json).not.toHaveProperty('lockToken');
        expect(new Date(res.json.createdAt).toISOString()).toBe(res.json.createdAt);
        const missing = await admin('GET', `/api/jobs/${randomUUID()}`);
        expect(missing.status).toBe(404);
        expect(missing.json).toMatchObject({ code: 'job_not_found' });
        expect((await admin('GET', '/api/jobs/not-a-uuid')).status).toBe(400);
      });

      it('takes the id from the path, not from a query parameter', async () => {
        const id = await enqueueOne();
        const other = await enqueueOne();
        const res = await admin('GET', `/api/jobs/${id}?id=${other}`);
        expect(res.status, res.text).toBe(200);
        expect(res.json.id).toBe(id);
      });

      it('POST /api/jobs/:id/retry: a dead job back to pending, due now, attempts reset; 409 otherwise; 404', async () => {
        const id = await deadJob();
        expect(await db.jobRow(id)).toMatchObject({ status: 'dead', attempts: 1 });
        const res = await admin('POST', `/api/jobs/${id}/retry`);
        expect(res.status, res.text).toBe(200);
        expect(res.json).toMatchObject({ id, status: 'pending', attempts: 0 });
        expect((await db.jobRow(id))!.due_in_ms).toBeLessThanOrEqual(0);
        const again = await admin('POST', `/api/jobs/${id}/retry`);
        expect(again.status, again.text).toBe(409);
        expect(again.json).toMatchObject({ code: 'job_state_conflict', status: 'pending' });
        expect((await admin('POST', `/api/jobs/${randomUUID()}/retry`)).status).toBe(404);
        expect((await admin('POST', '/api/jobs/not-a-uuid/retry')).status).toBe(400);
      });

      it('DELETE /api/jobs/:id cancels a pending or dead job; a running one is a 409 and stays', async () => {
        const pending = await enqueueOne();
        const cancelled = await admin('DELETE', `/api/jobs/${pending}`);
        expect(cancelled.status, cancelled.text).toBe(200);
        expect(cancelled.json.cancelled).toMatchObject({ id: pending, status: 'pending' });
        expect((await admin('DELETE', `/api/jobs/${pending}`)).status).toBe(404);
        const dead = await deadJob();
        expect((await admin('DELETE', `/api/jobs/${dead}`)).status).toBe(200);
        const running = await enqueueOne();
        await db.markRunning(running);
        const refused = await admin('DELETE', `/api/jobs/${running}`);
        expect(refused.status, refused.text).toBe(409);
        expect(refused.json).toMatchObject({ code: 'job_state_conflict', status: 'running' });
        expect((await admin('POST', `/api/jobs/${running}/retry`)).status).toBe(409);
        expect(await db.jobRow(running)).toMatchObject({ status: 'running' });
      });

      it('answers other methods 405 with Allow', async () => {
        const id = await enqueueOne();
        expect405(await admin('POST', `/api/jobs/${id}`), ['GET', 'DELETE']);
        expect405(await admin('PUT', `/api/jobs/${id}`), ['GET', 'DELETE']);
        expect405(await admin('GET', `/api/jobs/${id}/retry`), ['POST']);
        expect405(await admin('DELETE', `/api/jobs/${id}/retry`), ['POST']);
        expect(await db.jobRow(id)).toMatchObject({ status: 'pending' });
      });
    });

    describe('admin: GET /api/queue/stats', () => {
      it('counts jobs by status and type', async () => {
        await enqueueOne();
        await enqueueOne();
        await deadJob();
        const res = await admin('GET', '/api/queue/stats');
        expect(res.status, res.text).toBe(200);
        expect(res.json).toMatchObject({
          pending: 2, running: 0, dead: 1, oldestPendingAgeMs: expect.any(Number),
          byType: { 'send-welcome-email': { pending: 2, dead: 1 } },
        });
      });

      it('answers other methods 405 with Allow', async () => {
        expect405(await admin('POST', '/api/queue/stats'), ['GET']);
      });
    });

    describe('admin answers are not cached', () => {
      it('GET /api/jobs, GET /api/jobs/:id, retry, DELETE and stats answer Cache-Control: no-store', async () => {
        const id = await deadJob();
        const other = await enqueueOne();
        const answers = {
          list: await admin('GET', '/api/jobs'),
          get: await admin('GET', `/api/jobs/${id}`),
          retry: await admin('POST', `/api/jobs/${id}/retry`),
          cancel: await admin('DELETE', `/api/jobs/${other}`),
          stats: await admin('GET', '/api/queue/stats'),
          notFound: await admin('GET', `/api/jobs/${randomUUID()}`),
        };
        const cacheControl = Object.fromEntries(Object.entries(answers).map(([k, res]) => [k, `${res.status} ${res.headers.get('cache-control')}`]));
        expect(cacheControl).toEqual({
          list: '200 no-store', get: '200 no-store', retry: '200 no-store', cancel: '200 no-store', stats: '200 no-store', notFound: '404 no-store',
        });
      });
    });

    describe('admin routes need ADMIN_SECRET', () => {
      const routes = [['GET', '/api/jobs'], ['GET', '/api/jobs/:id'], ['DELETE', '/api/jobs/:id'], ['POST', '/api/jobs/:id/retry'], ['GET', '/api/queue/stats']];
      it.each(routes)('%s %s: 401 with WWW-Authenticate: Bearer for no token or another secret, job untouched', async (method, path) => {
        const id = await enqueueOne();
        for (const token of [null, 'wrong', SECRETS.ENQUEUE_SECRET, SECRETS.CRON_SECRET]) {
          expect401(await admin(method, path.replace(':id', id), token));
        }
        expect(await db.jobRow(id)).toMatchObject({ status: 'pending', attempts: 0 });
      });
    });

    describe('GET /api/cron/drain', () => {
      it('drains every due job with CRON_SECRET and answers the summary', async () => {
        await enqueue({ jobs: Array.from({ length: 3 }, () => ({ type: 'send-welcome-email', payload: welcome() })) });
        const res = await call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
        expect(res.status, res.text).toBe(200);
        expect(res.json).toMatchObject({ ...SUMMARY, claimed: 3, completed: 3, dead: 0, stoppedBy: 'empty' });
        expect(webhook.received).toHaveLength(3);
        expect(await db.countJobs()).toBe(0);
      });

      it('refuses other tokens (401, Bearer) and other methods (405, Allow), draining nothing', async () => {
        await enqueueOne();
        for (const token of [undefined, 'wrong', SECRETS.ADMIN_SECRET, SECRETS.ENQUEUE_SECRET]) {
          expect401(await call('GET', '/api/cron/drain', { token }));
        }
        expect405(await call('POST', '/api/cron/drain', { token: SECRETS.CRON_SECRET }), ['GET']);
        expect(await db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
        expect(webhook.received).toHaveLength(0);
      });
    });

    describe('POST /api/drain', () => {
      const drain = (json?: unknown, token?: string | null) => call('POST', '/api/drain', { token: bearer(token, SECRETS.CRON_SECRET), json });

      it('drains with CRON_SECRET (DRAIN_SECRET unset), without a body, and answers the summary', async () => {
        await enqueueOne();
        await enqueueOne();
        const res = await drain(undefined);
        expect(res.status, res.text).toBe(200);
        expect(res.json).toMatchObject({ ...SUMMARY, claimed: 2, completed: 2, stoppedBy: 'empty' });
        expect(await db.countJobs()).toBe(0);
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
        expect(await db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
      });

      it('answers bad JSON 400, a form 415, other methods 405 and other tokens 401, draining nothing', async () => {
        await enqueueOne();
        expect((await call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
        expect((await call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, body: 'maxJobs=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
        expect405(await call('GET', '/api/drain', { token: SECRETS.CRON_SECRET }), ['POST']);
        for (const token of [null, 'wrong', SECRETS.ADMIN_SECRET, SECRETS.ENQUEUE_SECRET]) expect401(await drain({}, token));
        expect(await db.countJobs("status = 'pending' and attempts = 0")).toBe(1);
      });
    });

    describe('POST /api/signup', () => {
      const signup = (json: unknown) => call('POST', '/api/signup', { json });

      it('creates the user (201 { user, jobId }) and enqueues send-welcome-email with it', async () => {
        const email = `Ada-${randomUUID()}@Example.com`;
        const res = await signup({ email, name: 'Ada' });
        expect(res.status, res.text).toBe(201);
        expect(res.json).toEqual({ user: { id: expect.any(String), email: email.toLowerCase(), name: 'Ada' }, jobId: expect.any(String) });
        expect(await db.jobRow(res.json.jobId)).toMatchObject({
          type: 'send-welcome-email', status: 'pending', payload: { userId: res.json.user.id, email: email.toLowerCase(), name: 'Ada' },
        });
      });

      it('answers a taken email 409 and enqueues nothing more', async () => {
        const email = `taken-${randomUUID()}@example.com`;
        expect((await signup({ email, name: 'Ada' })).status).toBe(201);
        const again = await signup({ email: email.toUpperCase(), name: 'Ada Again' });
        expect(again.status, again.text).toBe(409);
        expect(again.json).toMatchObject({ code: 'email_taken' });
        expect(await db.countJobs()).toBe(1);
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
        const res = await call('POST', '/api/signup', opts);
        expect(res.status, res.text).toBe(status);
        expect(typeof res.json?.error).toBe('string');
        if (issues) expectIssues(res);
        expect(await db.countJobs()).toBe(0);
      });

      it('answers other methods 405 with Allow', async () => {
        expect405(await call('GET', '/api/signup'), ['POST']);
      });
    });

    it('answers an unknown path under /api 404', async () => {
      expect((await call('GET', '/api/nope')).status).toBe(404);
      expect((await call('GET', '/api/jobs/00000000-0000-0000-0000-000000000000/nope')).status).toBe(404);
    });
  });
}
