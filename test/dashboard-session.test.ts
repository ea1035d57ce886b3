import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { select } from './support/sql.js';

// The dashboard's sessions are rows on the server (sluice.sessions): a logout ends one everywhere, and
// the server's record, not the cookie, says how long one lasts. Login and cookie basics:
// test/dashboard-http.test.ts.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => { api = await startApi(); });
afterAll(async () => { await api?.close(); });
beforeEach(async () => {
  setEnv(SECRETS);
  await api.db.execute(sql`truncate sluice.sessions, sluice.auth_failures`);
});

const at = (path: string) => new URL(path, api.url).href;
const formPost = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST', redirect: 'manual' as const,
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(),
});

/** A logged-in session: its cookie and the CSRF token from its page. */
async function session() {
  const res = await fetch(at('/api/dashboard/login'), formPost({ password: SECRETS.ADMIN_SECRET }));
  expect(res.status).toBe(303);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const page = await (await fetch(at('/api/dashboard'), { headers: { cookie } })).text();
  return { cookie, csrf: /<meta name="sluice-csrf" content="([^"]+)"/.exec(page)![1]! };
}

const dataStatus = async (cookie: string) => (await fetch(at('/api/dashboard/data'), { headers: { cookie } })).status;
const showsLogin = async (cookie: string) =>
  (await (await fetch(at('/api/dashboard'), { headers: { cookie } })).text()).includes('action="/api/dashboard/login"');
const sessionRows = () => select<{ id: string; lifetime_s: number }>(api.db,
  sql`select id, extract(epoch from expires_at - created_at)::float8 as lifetime_s from sluice.sessions`);

/** A cookie as the server signs one, for an id of our choosing: what anyone holding ADMIN_SECRET could make. */
function mintedCookie(id: string, secret = SECRETS.ADMIN_SECRET): string {
  const key = createHmac('sha256', secret).update('sluice dashboard session v2').digest();
  return `sluice_session=v2.${id}.${createHmac('sha256', key).update(`v2.${id}`).digest('base64url')}`;
}

describe('dashboard sessions', () => {
  it('log out ends the session on the server: the same cookie, replayed, is refused', async () => {
    const { cookie, csrf } = await session();
    expect(await dataStatus(cookie)).toBe(200);
    const out = await fetch(at('/api/dashboard/logout'), formPost({ csrf }, { cookie }));
    expect(out.status).toBe(303);
    expect(await sessionRows()).toEqual([]);
    expect(await dataStatus(cookie)).toBe(401);
    expect(await showsLogin(cookie)).toBe(true);
    const action = await fetch(at('/api/dashboard/dead/retry'), { method: 'POST', headers: { cookie, 'x-sluice-csrf': csrf } });
    expect(action.status).toBe(401);
    // A second session of the same operator (another browser) is untouched by the first's logout.
    const other = await session();
    expect(await dataStatus(other.cookie)).toBe(200);
  });

  it('lasts 12 hours by the server\'s record, whatever the cookie says', async () => {
    const { cookie } = await session();
    const [row] = await sessionRows();
    expect(row!.lifetime_s).toBe(12 * 3600);
    expect(cookie).toContain(row!.id); // the cookie names the row; it carries no expiry of its own
    // Twelve hours later, by the server's clock:
    await api.db.execute(sql`update sluice.sessions set created_at = created_at - interval '12 hours', expires_at = expires_at - interval '12 hours'`);
    expect(await dataStatus(cookie)).toBe(401);
    expect(await showsLogin(cookie)).toBe(true);
  });

  it('a correctly signed cookie with no session behind it is refused: holding ADMIN_SECRET mints nothing', async () => {
    const { cookie } = await session();
    expect(mintedCookie(cookie.split('.')[1]!)).toBe(cookie); // the test signs as the server does
    const minted = mintedCookie(randomBytes(18).toString('base64url'));
    expect(await dataStatus(minted)).toBe(401);
    expect(await showsLogin(minted)).toBe(true);
    // The format before sessions were rows: an expiry in the cookie, here in 2090, signed with the secret.
    const v1Key = createHmac('sha256', SECRETS.ADMIN_SECRET).update('sluice dashboard session v1').digest();
    const v1Body = `v1.${Math.floor(Date.UTC(2090, 0, 1) / 1000)}.${randomBytes(18).toString('base64url')}`;
    const v1 = `sluice_session=${v1Body}.${createHmac('sha256', v1Key).update(v1Body).digest('base64url')}`;
    expect(await dataStatus(v1)).toBe(401);
  });

  it('a new ADMIN_SECRET ends every session', async () => {
    const { cookie } = await session();
    setEnv({ ADMIN_SECRET: 'test-admin-secret-rotated' });
    expect(await dataStatus(cookie)).toBe(401);
  });

  it('a login deletes expired sessions, so the table does not grow with time', async () => {
    await api.db.execute(sql`insert into sluice.sessions (id, created_at, expires_at)
      select 'expired-' || n, now() - interval '13 hours', now() - interval '1 hour' from generate_series(1, 5) n`);
    await session();
    expect(await sessionRows()).toHaveLength(1);
  });
});
