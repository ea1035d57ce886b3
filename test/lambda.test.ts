import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SECRETS, setEnv } from './support/api.js';
import { freshDatabase } from './support/db.js';
import { functionUrlEvent, lambdaContext, scheduledRuleEvent, type EventRequest } from './support/lambda.js';
import { countJobs, UNFINISHED, select } from './support/sql.js';

// deploy/aws/handler.ts invoked as Lambda invokes it: AWS's documented event shapes and a context object.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
let handler: typeof import('../deploy/aws/handler.js');
beforeAll(async () => {
  conn = await freshDatabase('pg');
  // AWS_LAMBDA_FUNCTION_NAME: Lambda sets it, and Sluice knows from it that nothing runs after a response.
  setEnv({ ...SECRETS, DATABASE_URL: conn.url, EMAIL_WEBHOOK_URL: undefined, DRAIN_SAFETY_MARGIN_MS: '1000', AWS_LAMBDA_FUNCTION_NAME: 'SluiceHttp' });
  handler = await import('../deploy/aws/handler.js');
});
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

const welcome = { userId: 'u1', email: 'ada@example.com', name: 'Ada' };
async function invoke(method: string, path: string, r: EventRequest & { token?: string; json?: unknown } = {}) {
  const headers = { ...r.headers };
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  let body = r.body;
  if (r.json !== undefined) {
    body = JSON.stringify(r.json);
    headers['content-type'] ??= 'application/json';
  }
  const result = (await handler.http(functionUrlEvent(method, path, { ...r, headers, body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
  const text = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString() : (result.body ?? '');
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { ...result, text, json, headers: result.headers ?? {} };
}

describe('http: the Function URL handler', () => {
  it('enqueues, and the admin routes see the job; health answers; headers come back', async () => {
    const res = await invoke('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome } });
    expect(res.statusCode).toBe(202);
    const { id } = res.json;
    const got = await invoke('GET', `/api/jobs/${id}`, { token: SECRETS.ADMIN_SECRET });
    expect(got.json).toMatchObject({ id, status: 'pending', type: 'send-welcome-email' });
    expect(got.headers['cache-control']).toBe('no-store');
    const list = await invoke('GET', '/api/jobs?status=pending&limit=10', { token: SECRETS.ADMIN_SECRET });
    expect(list.json.jobs.map((j: { id: string }) => j.id)).toEqual([id]);
    expect((await invoke('GET', '/api/queue/stats', { token: SECRETS.ADMIN_SECRET })).json).toMatchObject({ pending: 1 });
    expect((await invoke('GET', '/api/health', { token: SECRETS.ADMIN_SECRET })).json).toMatchObject({ ok: true, pending: 1 });
    expect((await invoke('GET', '/api/health')).json).toEqual({ ok: true }); // no secret: no counts
    expect((await invoke('DELETE', `/api/jobs/${id}`, { token: SECRETS.ADMIN_SECRET })).statusCode).toBe(200);
  });

  it('decodes a base64-encoded body, as a function URL sends one, and ignores cookies it does not use', async () => {
    const res = await invoke('POST', '/api/signup', {
      body: JSON.stringify({ email: 'b64@example.com', name: 'Base' }), base64: true,
      headers: { 'content-type': 'application/json' }, cookies: ['session=abc', 'theme=dark'],
    });
    expect([res.statusCode, res.json]).toEqual([202, { accepted: true }]);
    expect(await select(conn.db, sql`select name from users where email = 'b64@example.com'`)).toEqual([{ name: 'Base' }]);
    expect(await countJobs(conn.db, sql`type = 'send-welcome-email' and status = 'pending'`)).toBe(1);
    // Taken: the same answer, and no second job.
    const again = await invoke('POST', '/api/signup', { json: { email: 'b64@example.com', name: 'Again' } });
    expect([again.statusCode, again.json]).toEqual([202, { accepted: true }]);
    expect(await countJobs(conn.db, UNFINISHED)).toBe(1);
  });

  it.each([
    ['no token', () => invoke('POST', '/api/jobs', { json: { type: 'send-welcome-email', payload: welcome } }), 401],
    ['an unknown type', () => invoke('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'nope', payload: {} } }), 400],
    ['bad JSON', () => invoke('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body: '{"type":', headers: { 'content-type': 'application/json' } }), 400],
    ['JSON nested 5,000 deep', () => invoke('POST', '/api/signup', { body: '['.repeat(5000) + ']'.repeat(5000), headers: { 'content-type': 'application/json' } }), 400],
    ['a form', () => invoke('POST', '/api/signup', { body: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415],
    ['a NUL in a filter', () => invoke('GET', '/api/jobs?type=%00', { token: SECRETS.ADMIN_SECRET }), 400],
    ['another method', () => invoke('PUT', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET }), 405],
    ['an unknown path', () => invoke('GET', '/api/nope'), 404],
  ])('answers %s like every other runtime', async (_name, send, status) => {
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.json.error).toEqual(expect.any(String));
    expect(await countJobs(conn.db, UNFINISHED)).toBe(0);
  });

  it('counts a wrong secret under the caller AWS saw (sourceIp), not under headers the client chose', async () => {
    const res = await invoke('GET', '/api/queue/stats', { token: 'wrong-secret-guess', headers: { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' } });
    expect(res.statusCode).toBe(401);
    expect(await select(conn.db, sql`select client, failures from sluice.auth_failures`)).toEqual([{ client: '123.123.123.123', failures: 1 }]);
  });

  it('answers HEAD /api/health like GET, without a body', async () => {
    const res = await invoke('HEAD', '/api/health');
    expect(res.statusCode).toBe(200);
    expect(res.text).toBe('');
  });
});

describe('scheduled: the EventBridge drain', () => {
  it('drains due jobs on a Rules "Scheduled Event" and on a Scheduler input alike', async () => {
    for (const event of [scheduledRuleEvent(), {}]) {
      await invoke('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { jobs: [1, 2].map((n) => ({ type: 'send-welcome-email', payload: { ...welcome, userId: `s${n}${Object.keys(event).length}` } })) } });
      const summary = await handler.scheduled(event, lambdaContext(30_000));
      expect(summary).toMatchObject({ claimed: 2, completed: 2, stoppedBy: 'empty' });
    }
    expect(await countJobs(conn.db, UNFINISHED)).toBe(0);
  });

  it('returns DRAIN_SAFETY_MARGIN_MS before the invocation runs out, giving back the jobs it did not start', async () => {
    // An email provider that never answers: the first ten jobs (the drain's concurrency) hang until the
    // drain stops them; the rest of its claim never starts and goes back with its attempt.
    const hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    setEnv({ EMAIL_WEBHOOK_URL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/send` });
    try {
      const jobs = Array.from({ length: 25 }, (_, n) => ({ type: 'send-welcome-email', payload: { ...welcome, userId: `slow${n}`, email: `slow${n}@example.com` } }));
      expect((await invoke('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { jobs } })).statusCode).toBe(202);
      const context = lambdaContext(3_000);
      const summary = await handler.scheduled(scheduledRuleEvent(), context);
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0); // returned before Lambda would cut it off
      expect(summary).toMatchObject({ stoppedBy: 'deadline', completed: 0 });
      expect(summary.released).toBeGreaterThan(0);
      expect(await countJobs(conn.db, sql`status = 'pending' and attempts = 0`)).toBe(summary.released + 25 - summary.claimed);
      expect(await countJobs(conn.db, sql`status = 'running'`)).toBe(0);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
      setEnv({ EMAIL_WEBHOOK_URL: undefined });
    }
  });
});
