import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { runProcesses } from './support/processes.js';
import { countJobs, UNFINISHED, waitFor } from './support/sql.js';
import { recordingJob, runLog, startWakeApp, type WakeApp } from './support/wake.js';

const TICK_CHILD = new URL('./fixtures/tick-child.ts', import.meta.url).pathname;

// Pause and resume a type (issue 10): every drain skips a paused type's jobs; stats and health say paused, not stuck.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
let app: WakeApp;
const log = runLog();
const mail = recordingJob('mail', log);
const report = recordingJob('report', log);
const admin = (method: string, path: string, token: string | null = SECRETS.ADMIN_SECRET) =>
  app.call(method, path, token === null ? {} : { token });
const insertDue = (type: string, count: number, age = '0 seconds') =>
  conn.db.execute(sql`insert into sluice.jobs (type, payload, run_after)
    select ${type}, jsonb_build_object('n', g), now() - ${age}::interval from generate_series(1, ${count}) g`);

beforeAll(async () => {
  conn = await freshDatabase('pg');
  app = await startWakeApp(conn.db, [mail, report], { SLUICE_IDLE_CHECK_MS: 0 });
});
afterAll(async () => {
  await app?.close();
  await conn?.close();
});
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.paused_types`);
});

describe('a paused type', () => {
  it('is claimed by no drain, four processes at once, while other types run; resumed, its jobs run', async () => {
    expect((await admin('POST', '/api/types/report/pause')).json).toMatchObject({ type: 'report', paused: true, pausedAt: expect.any(String) });
    await insertDue('report', 200);
    await insertDue('mail', 200);
    const outputs = await runProcesses(4, TICK_CHILD, () => ({ DATABASE_URL: conn.url, DRIVER: 'pg', MODE: 'drain', TYPES: 'mail,report' }));
    const passes = outputs.map((lines) => JSON.parse(lines[0]!) as { completed: number });
    expect(passes.reduce((n, p) => n + p.completed, 0)).toBe(200);
    expect(await countJobs(conn.db, sql`type = 'report' and status = 'pending' and attempts = 0`)).toBe(200);
    expect(await countJobs(conn.db, sql`type = 'mail'`)).toBe(0);

    const resumed = await admin('POST', '/api/types/report/resume');
    expect(resumed.json).toEqual({ type: 'report', resumed: true, paused: false });
    // The resume kicks: the paused jobs run without a tick.
    await waitFor('the resumed jobs to run', async () => ((await countJobs(conn.db, UNFINISHED)) === 0 ? true : undefined));
  });

  it('shows in stats and types as paused, and its waiting jobs trip no alert', async () => {
    await insertDue('report', 3, '2 hours');
    const before = await admin('GET', '/api/health');
    expect(before.status).toBe(503); // due for two hours, not paused: stuck
    await admin('POST', '/api/types/report/pause');
    const stats = (await admin('GET', '/api/queue/stats')).json;
    expect(stats).toMatchObject({ pending: 3, paused: ['report'], oldestPendingAgeMs: 0 });
    expect(stats.byType.report).toMatchObject({ pending: 3, paused: true });
    expect(stats.byType.report.oldestPendingAgeMs).toBeGreaterThan(3_600_000);
    expect((await admin('GET', '/api/health')).status).toBe(200);
    expect((await admin('GET', '/api/types')).json).toEqual({
      types: [
        { type: 'mail', paused: false, pausedAt: null, concurrency: null, rateLimit: null },
        { type: 'report', paused: true, pausedAt: expect.any(String), concurrency: null, rateLimit: null },
      ],
    });
  });

  it('keeps its first pause time when paused again; a resume of a type not paused says so', async () => {
    const first = (await admin('POST', '/api/types/mail/pause')).json;
    const again = (await admin('POST', '/api/types/mail/pause')).json;
    expect(again.pausedAt).toBe(first.pausedAt);
    expect((await admin('POST', '/api/types/mail/resume')).json).toEqual({ type: 'mail', resumed: true, paused: false });
    expect((await admin('POST', '/api/types/mail/resume')).json).toEqual({ type: 'mail', resumed: false, paused: false });
  });

  it('refuses unknown types, wrong secrets and other methods', async () => {
    const unknown = await admin('POST', '/api/types/nope/pause');
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ code: 'unknown_job_type', known: ['mail', 'report'] });
    expect((await admin('POST', '/api/types/mail/pause', SECRETS.ENQUEUE_SECRET)).status).toBe(401);
    expect((await admin('POST', '/api/types/mail/pause', null)).status).toBe(401);
    expect((await admin('GET', '/api/types', null)).status).toBe(401);
    expect((await admin('GET', '/api/types/mail/pause')).status).toBe(405);
    expect(await countJobs(conn.db, sql`true`)).toBe(0);
    expect((await admin('GET', '/api/types')).json.types.every((t: { paused: boolean }) => !t.paused)).toBe(true);
  });
});
