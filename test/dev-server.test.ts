import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cronMatches } from '../scripts/dev/cron.js';
import { startDevServer } from '../scripts/dev/server.js';

// npm run dev's stand-in for Vercel's Node runtime, against fixture functions (test/fixtures/dev-api/api).
let server: Awaited<ReturnType<typeof startDevServer>>;
beforeAll(async () => {
  server = await startDevServer({ apiDir: fileURLToPath(new URL('./fixtures/dev-api/api', import.meta.url)), port: 0, host: '127.0.0.1' });
});
afterAll(async () => { await server?.close(); });

const get = (path: string, init?: RequestInit) => fetch(server.url + path, { redirect: 'manual', ...init });
const echo = async (init: RequestInit & { path?: string } = {}) => {
  const res = await get(init.path ?? '/api/echo', init);
  return { status: res.status, json: res.status === 200 ? await res.json() : await res.text() };
};

describe('dev server: routing like Vercel', () => {
  it.each([
    ['/api/things', { route: 'things' }],
    ['/api/things/', { route: 'things' }],
    ['/api/things/special', { route: 'things/special' }],
    ['/api/things/a%20b?x=1', { route: 'things/[slug]', query: { slug: 'a b', x: '1' } }],
    ['/api/things/abc/parts', { route: 'things/[slug]/parts', query: { slug: 'abc' } }],
  ])('%s', async (path, expected) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expected);
  });

  it.each(['/api/nope', '/api/_lib/helper', '/api/things/a/b/c', '/api', '/'])('%s is a 404', async (path) => {
    expect((await get(path)).status).toBe(404);
  });
});

describe('dev server: request helpers', () => {
  it('parses the query (repeated keys become arrays) and cookies', async () => {
    const { json } = await echo({ path: '/api/echo?a=1&b=2&b=3', headers: { cookie: 'session=abc%20def; theme="dark"' } });
    expect(json).toMatchObject({ method: 'GET', query: { a: '1', b: ['2', '3'] }, cookies: { session: 'abc def', theme: 'dark' }, body: '' });
  });

  it.each([
    ['application/json', '{"a":[1,2]}', { a: [1, 2] }],
    ['application/json; charset=utf-8', '', {}],
    ['application/x-www-form-urlencoded', 'a=1&a=2&b=x', { a: ['1', '2'], b: 'x' }],
    ['text/plain', 'hello', 'hello'],
    ['application/octet-stream', 'bytes', { buffer: 'bytes' }],
    ['image/png', 'x', null],
  ])('parses a %s body', async (type, body, expected) => {
    expect((await echo({ method: 'POST', body, headers: { 'content-type': type } })).json.body).toEqual(expected);
  });

  it('answers 400 when a function reads a body of bad JSON', async () => {
    const res = await echo({ method: 'POST', body: '{"a":', headers: { 'content-type': 'application/json' } });
    expect(res).toEqual({ status: 400, json: 'Invalid JSON\n' });
  });

  it('answers 413 over the platform body limit of 4.5 MB', async () => {
    const res = await echo({ method: 'POST', body: 'x'.repeat(5 * 1024 * 1024), headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(413);
  });
});

describe('dev server: response helpers', () => {
  it.each([
    ['text', 200, 'text/html; charset=utf-8', '<p>hi</p>'],
    ['number', 201, 'application/json; charset=utf-8', '42'],
    ['buffer', 200, 'application/octet-stream', 'raw'],
    ['empty', 204, null, ''],
  ])('res.send(%s)', async (kind, status, type, body) => {
    const res = await get(`/api/send?kind=${kind}`);
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([status, type, body]);
  });

  it('res.redirect defaults to 307 and takes a status', async () => {
    const temporary = await get('/api/send?kind=redirect');
    expect([temporary.status, temporary.headers.get('location')]).toEqual([307, '/api/echo']);
    const permanent = await get('/api/send?kind=redirect301');
    expect([permanent.status, permanent.headers.get('location')]).toEqual([301, '/api/echo?moved=1']);
  });

  it('a function that throws is a 500', async () => {
    const res = await get('/api/send?kind=throw');
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/FUNCTION_INVOCATION_FAILED/);
  });
});

describe('dev crons', () => {
  it.each([
    ['* * * * *', '2025-03-04T10:17:00Z', true],
    ['*/15 * * * *', '2025-03-04T10:30:00Z', true],
    ['*/15 * * * *', '2025-03-04T10:31:00Z', false],
    ['0 9-17 * * 1-5', '2025-03-04T12:00:00Z', true], // a Tuesday
    ['0 9-17 * * 1-5', '2025-03-08T12:00:00Z', false], // a Saturday
    ['0 0 1,15 * *', '2025-03-15T00:00:00Z', true],
    ['0 0 1,15 * *', '2025-03-16T00:00:00Z', false],
  ])('"%s" at %s: %s', (schedule, at, expected) => {
    expect(cronMatches(schedule, new Date(at))).toBe(expected);
  });

  it('refuses malformed schedules', () => {
    expect(() => cronMatches('* * * *', new Date())).toThrow(/five fields/);
    expect(() => cronMatches('61 * * * *', new Date())).toThrow(/bad cron field/);
  });
});
