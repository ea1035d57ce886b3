import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, QUIET, SECRETS, httpSuite } from '../http/suite.js';
import { freshDatabase } from '../support/db.js';
import { waitFor } from '../support/sql.js';
import { migrateNextjs, startNextjs } from './nextjs.js';
import type { Server } from './process.js';

// examples/nextjs under `next start`, Sluice installed from `npm pack` of the repository (of another
// checkout with SLUICE_RUNTIME_ROOT, e.g. a scratch copy). The first run installs and builds it.
const root = process.env.SLUICE_RUNTIME_ROOT;

httpSuite('next start (examples/nextjs)', ({ env }) => startNextjs({ env, root }));

// What the suite does not cover: the example's own deploy path on an empty database (its db:migrate),
// and its signup route's transaction and job end to end.
describe.skipIf(!process.env.SLUICE_RUNTIME_SUITE)('examples/nextjs on an empty database', () => {
  let server: Server | undefined;
  let conn: Awaited<ReturnType<typeof freshDatabase>>;

  beforeAll(async () => {
    conn = await freshDatabase('pg', { migrated: false });
    // Kicks on, as deployed: after() in the signup route and in nextHandlers starts each job.
    const env = { ...SECRETS, ...LIMITS, ...QUIET, SLUICE_KICK: 'on', DATABASE_URL: conn.url };
    await migrateNextjs({ env, root });
    server = await startNextjs({ env, root });
  });
  afterAll(async () => {
    await server?.close();
    await conn?.close();
  });

  const call = async (method: string, path: string, opts: { token?: string; json?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(server!.url + path, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
    return { status: res.status, json: (await res.json()) as any };
  };

  it('db:migrate made Sluice\'s tables and the app\'s, each bookkept apart', async () => {
    const { rows } = await (conn.pool as pg.Pool).query(
      `select table_schema || '.' || table_name as t from information_schema.tables
       where table_schema in ('public', 'sluice', 'drizzle') order by 1`);
    expect(rows.map((r) => r.t)).toEqual(['drizzle.__drizzle_migrations', 'public.sent_emails', 'public.users', 'sluice.__drizzle_migrations', 'sluice.alerts', 'sluice.app_alerts', 'sluice.app_drain_slots', 'sluice.apps', 'sluice.auth_failures', 'sluice.drain_slots', 'sluice.events', 'sluice.flow_slots', 'sluice.job_history', 'sluice.job_steps', 'sluice.jobs', 'sluice.paused_types', 'sluice.queue_samples', 'sluice.queue_state', 'sluice.schedules', 'sluice.sessions', 'sluice.step_timings']);
  });

  const sentEmails = async () => (await (conn.pool as pg.Pool).query('select key, "to" from sent_emails order by sent_at')).rows;
  // A finished job is kept, completed, as the run history.
  const jobGone = (id: string) => waitFor(`job ${id} to finish`, async () => ((await call('GET', `/api/jobs/${id}`, { token: SECRETS.ADMIN_SECRET })).json?.status === 'completed' ? true : undefined));

  it('signs up a user with their welcome job in one transaction; after() kicks it, with no drain call', async () => {
    const signup = await call('POST', '/api/signup', { json: { email: 'Ada@Example.com', name: 'Ada' } });
    expect([signup.status, signup.json]).toEqual([202, { accepted: true }]);
    await waitFor('the welcome email', async () => ((await sentEmails()).length > 0 ? true : undefined));
    expect(await sentEmails()).toEqual([{ key: 'welcome:ada@example.com', to: 'ada@example.com' }]);

    // Email taken: the same answer (no one learns the address has an account), and no second email.
    const again = await call('POST', '/api/signup', { json: { email: 'ada@example.com', name: 'Ada' } });
    expect([again.status, again.json]).toEqual([202, { accepted: true }]);
    // Its job (the first one has run: a new one, which finds the email sent) is kicked too.
    const settled = await waitFor('every job to finish', async () => {
      const stats = (await call('GET', '/api/queue/stats', { token: SECRETS.ADMIN_SECRET })).json;
      return stats.pending + stats.running === 0 ? stats : undefined;
    });
    expect(settled.dead).toBe(0);
    expect(await sentEmails()).toHaveLength(1);
  });

  it('kicks after POST /api/jobs through nextHandlers\' after(); a delayed job waits', async () => {
    const payload = { userId: 'u-next', email: 'grace@example.com', name: 'Grace' };
    const later = await call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload: { ...payload, userId: 'u-later' }, delayMs: 3_600_000 } });
    const now = await call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'send-welcome-email', payload } });
    expect([later.status, now.status]).toEqual([202, 202]);
    await jobGone(now.json.id);
    expect((await call('GET', `/api/jobs/${later.json.id}`, { token: SECRETS.ADMIN_SECRET })).json).toMatchObject({ status: 'pending', attempts: 0 });
  });
});
