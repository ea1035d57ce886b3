import { allJobs } from '../lib/app/jobs/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { countJobs, select } from './support/sql.js';
import { sql } from 'drizzle-orm';

let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi(); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => {
  setEnv({ ...SECRETS, SLUICE_MAX_PAYLOAD_BYTES: undefined, SLUICE_MAX_BODY_BYTES: undefined });
  await api.db.execute(sql`delete from sluice.jobs`);
});

const welcome = { userId: 'u1', email: 'ada@example.com', name: 'Ada' };
const enqueue = (json: unknown, token = SECRETS.ENQUEUE_SECRET) => api.call('POST', '/api/jobs', { token, json });

describe('POST /api/jobs', () => {
  it('enqueues one job: 202 { id, duplicate, replaced }, the row holds the payload and options', async () => {
    const res = await enqueue({ type: 'send-welcome-email', payload: welcome, priority: 7, delayMs: 60_000 });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ id: expect.any(String), duplicate: false, replaced: false });
    const [row] = await select(api.db, sql`select type, payload, priority, status, run_after > now() + interval '50 seconds' as later from sluice.jobs where id = ${res.json.id}`);
    expect(row).toEqual({ type: 'send-welcome-email', payload: welcome, priority: 7, status: 'pending', later: true });
  });

  it('enqueues a bulk of jobs in order, and an idempotency key answers the existing job', async () => {
    const first = await enqueue({ type: 'send-welcome-email', payload: welcome, idempotencyKey: 'k1' });
    const res = await enqueue({ jobs: [
      { type: 'send-welcome-email', payload: { ...welcome, userId: 'u2' } },
      { type: 'send-welcome-email', payload: welcome, idempotencyKey: 'k1' },
      { type: 'send-welcome-email', payload: { ...welcome, userId: 'u3' }, runAt: new Date(Date.now() + 3_600_000).toISOString() },
    ] });
    expect(res.status).toBe(202);
    expect(res.json.duplicate).toEqual([false, true, false]);
    expect(res.json.ids[1]).toBe(first.json.id);
    expect(await countJobs(api.db)).toBe(3);
  });

  const rejected: [string, () => ReturnType<typeof api.call>, number, RegExp][] = [
    ['no token', () => api.call('POST', '/api/jobs', { json: { type: 'send-welcome-email', payload: welcome } }), 401, /bearer token/],
    ['a wrong token', () => enqueue({ type: 'send-welcome-email', payload: welcome }, 'nope'), 401, /bearer token/],
    ['the admin token', () => enqueue({ type: 'send-welcome-email', payload: welcome }, SECRETS.ADMIN_SECRET), 401, /bearer token/],
    ['a token without Bearer', () => api.call('POST', '/api/jobs', { headers: { authorization: SECRETS.ENQUEUE_SECRET }, json: {} }), 401, /bearer/],
    ['bad JSON', () => api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body: '{"type":', headers: { 'content-type': 'application/json' } }), 400, /invalid JSON/],
    ['a body that is not JSON', () => api.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body: 'type=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, /Content-Type: application\/json/],
    ['a payload failing its schema', () => enqueue({ type: 'send-welcome-email', payload: { ...welcome, email: 'not-an-email' } }), 400, /email/],
    ['an unknown type', () => enqueue({ type: 'send-weclome-email', payload: welcome }), 400, /known types: (.*, )?send-welcome-email/],
    ['an unknown option', () => enqueue({ type: 'send-welcome-email', payload: welcome, priorty: 1 }), 400, /priorty/],
    ['runAt and delayMs both', () => enqueue({ type: 'send-welcome-email', payload: welcome, delayMs: 1, runAt: new Date().toISOString() }), 400, /not both/],
    ['a bulk with one bad item', () => enqueue({ jobs: [{ type: 'send-welcome-email', payload: welcome }, { type: 'send-welcome-email', payload: {} }] }), 400, /jobs\[1\]/],
    ['a bulk over 1,000 jobs', () => enqueue({ jobs: Array.from({ length: 1001 }, () => ({ type: 'send-welcome-email', payload: welcome })) }), 400, /1000/],
    ['an empty bulk', () => enqueue({ jobs: [] }), 400, /jobs/],
    ['a JSON array', () => enqueue([{ type: 'send-welcome-email', payload: welcome }]), 400, /invalid request/],
    ['a "job" key naming another type', () => enqueue({ type: 'send-welcome-email', job: 'internal-only', payload: welcome }), 400, /"job" is not accepted/],
    ['a "job" object', () => enqueue({ type: 'send-welcome-email', job: {}, payload: welcome }), 400, /"job" is not accepted/],
    ['a NUL character in the payload', () => enqueue({ type: 'send-welcome-email', payload: { ...welcome, name: 'A\u0000da' } }), 400, /NUL/],
    ['a lone surrogate in the payload', () => enqueue({ type: 'send-welcome-email', payload: { ...welcome, name: '\ud800' } }), 400, /surrogate/],
    ['runAt in year 0', () => enqueue({ type: 'send-welcome-email', payload: welcome, runAt: '0000-01-01T00:00:00Z' }), 400, /years 1 to 9999/],
  ];
  it.each(rejected)('rejects %s and inserts nothing', async (_name, send, status, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.json.error).toMatch(message);
    expect(await countJobs(api.db)).toBe(0);
  });

  it('lists the zod issues and the known types', async () => {
    const bad = await enqueue({ type: 'send-welcome-email', payload: { ...welcome, email: 'x' } });
    expect(bad.json.issues).toEqual([expect.objectContaining({ path: ['email'] })]);
    const unknown = await enqueue({ type: 'nope', payload: {} });
    expect(unknown.json).toMatchObject({ code: 'unknown_job_type', known: allJobs.map((j) => j.type).sort() });
  });

  it('answers 413 for a payload over SLUICE_MAX_PAYLOAD_BYTES and a body over SLUICE_MAX_BODY_BYTES', async () => {
    setEnv({ SLUICE_MAX_PAYLOAD_BYTES: '100' });
    const payload = await enqueue({ type: 'send-welcome-email', payload: { ...welcome, name: 'A'.repeat(150) } });
    expect(payload.status).toBe(413);
    expect(payload.json.error).toMatch(/limit is 100/);
    setEnv({ SLUICE_MAX_PAYLOAD_BYTES: undefined, SLUICE_MAX_BODY_BYTES: '2000' });
    const big = { jobs: Array.from({ length: 30 }, () => ({ type: 'send-welcome-email', payload: welcome })) };
    const body = await enqueue(big);
    expect(body.status).toBe(413);
    // Chunked, without Content-Length: measured after parsing.
    const stream = new Blob([JSON.stringify(big)]).stream();
    const chunked = await fetch(`${api.url}/api/jobs`, {
      method: 'POST', body: stream, duplex: 'half',
      headers: { authorization: `Bearer ${SECRETS.ENQUEUE_SECRET}`, 'content-type': 'application/json' },
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await countJobs(api.db)).toBe(0);
  });

  it('answers 405 with Allow for other methods, and 500 naming ENQUEUE_SECRET when it is unset', async () => {
    const put = await api.call('PUT', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: welcome } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST, GET, HEAD');
    setEnv({ ENQUEUE_SECRET: undefined });
    const open = await api.call('POST', '/api/jobs', { json: { type: 'send-welcome-email', payload: welcome } });
    expect(open.status).toBe(500);
    expect(open.json.error).toMatch(/ENQUEUE_SECRET is not set/);
    const empty = await enqueue({ type: 'send-welcome-email', payload: welcome }, '');
    expect(empty.status).toBe(500);
    expect(await countJobs(api.db)).toBe(0);
  });
});
