import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../lib/app/sluice.js';
import { SECRETS, setEnv, startApi } from './support/api.js';
import { select } from './support/sql.js';

// The dead-man switch: crons that silently stop (after a deploy, on a plan change) must show in /api/health.
let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => {
  // Only the switch may alert here: the due job is an hour old, far past the oldest-pending alert's default.
  api = await startApi({ ALERT_DRAIN_STALE_MS: '60000', ALERT_OLDEST_PENDING_MS: String(86_400_000) });
});
afterAll(async () => { await api?.close(); });

// With a secret: a fresh reading, with the problems in words (a caller without one gets { ok } a few seconds old).
const health = () => api.call('GET', '/api/health', { token: SECRETS.ADMIN_SECRET });
const drain = async () => {
  const res = await api.call('POST', '/api/drain', { token: SECRETS.CRON_SECRET });
  expect(res.status).toBe(200);
};

describe('the dead-man switch', () => {
  it('trips when work has been due a while and no drain has ended well, and clears with the next good drain', async () => {
    // Due for an hour, of a type this app does not run: another app's work, which says nothing about this one's crons.
    await api.db.execute(sql`insert into sluice.jobs (type, payload, run_after) values ('another-app', '{}', now() - interval '1 hour')`);
    expect((await health()).status).toBe(200);
    const dueAnHour = () => api.db.execute(sql`insert into sluice.jobs (type, payload, run_after)
      values ('send-welcome-email', '{"userId":"u-1","email":"ada@example.com","name":"Ada"}', now() - interval '1 hour')`);
    await dueAnHour();
    const never = await health();
    expect(never.status).toBe(503);
    expect(never.json).toMatchObject({ ok: false, lastDrainAgeMs: null, problems: [expect.stringMatching(/no drain has ended well yet while jobs are due/)] });

    await drain();
    const fresh = await health();
    expect(fresh.status).toBe(200);
    expect(fresh.json.lastDrainAgeMs).toEqual(expect.any(Number));
    expect(fresh.json.lastDrainAgeMs).toBeLessThan(60_000);

    // The crons stop: an hour without a good drain, while a job has been due as long.
    await dueAnHour();
    await api.db.execute(sql`update sluice.apps set last_drain_ok_at = now() - interval '1 hour'`);
    const stale = await health();
    expect(stale.status).toBe(503);
    expect(stale.json.problems).toEqual([expect.stringMatching(/no drain has ended well for \d+ ms while jobs are due \(> 60000\): are the crons running\?/)]);

    await drain();
    expect((await health()).status).toBe(200);
  });

  it('stays quiet for an idle queue, however long ago the last drain was', async () => {
    await api.db.execute(sql`delete from sluice.jobs`);
    await api.db.execute(sql`update sluice.apps set last_drain_ok_at = now() - interval '2 days'`);
    expect((await health()).status).toBe(200);
  });

  it('is one row of the app, written by every drain that ends well', async () => {
    setEnv({ ALERT_DRAIN_STALE_MS: '60000' });
    await drain();
    await drain();
    const rows = await select<{ app: string; recent: boolean }>(api.db, sql`select app, last_drain_ok_at > now() - interval '1 minute' as recent from sluice.apps`);
    expect(rows).toEqual([{ app: sluice.scope().app, recent: true }]);
  });
});
