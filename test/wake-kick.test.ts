import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { countJobs, latch, UNFINISHED, waitFor } from './support/sql.js';
import { recordingJob, runLog, startWakeApp, type WakeApp } from './support/wake.js';

// Kick on enqueue (issue 9): a job starts right after POST /api/jobs answers, with no cron and no drain call.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
let app: WakeApp;
const log = runLog();
let gate = latch();
const job = recordingJob('kicked', log, 0, () => gate.promise);
const slow = recordingJob('slow', log, 2);

beforeAll(async () => {
  conn = await freshDatabase('pg');
  // A long idle check: only kicks may drain here (no tick is ever called in this file).
  app = await startWakeApp(conn.db, [job, slow], { SLUICE_IDLE_CHECK_MS: 3_600_000 });
});
afterAll(async () => {
  gate.open();
  await app?.close();
  await conn?.close();
});
beforeEach(async () => {
  await waitFor('kick drains to finish', async () => (await countJobs(conn.db, sql`status = 'running'`)) === 0 || undefined);
  await conn.db.execute(sql`delete from sluice.jobs`);
  gate = latch();
  gate.open();
});

const enqueue = (body: unknown) => app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: body });
const allDone = () => waitFor('every job to finish', async () => (await countJobs(conn.db, UNFINISHED)) === 0 || undefined);

describe('kick on enqueue', () => {
  it('starts the job after the response, which does not wait for it', async () => {
    gate = latch(); // the handler holds until the test opens it
    const res = await enqueue({ type: 'kicked', payload: { n: 1 } });
    expect(res.status).toBe(202);
    // Answered while the job is still running (or about to): the kick did not hold the response.
    await waitFor('the kicked job to start', async () => (log.started.includes(res.json.id) ? true : undefined));
    expect(await countJobs(conn.db, sql`status = 'running'`)).toBe(1);
    gate.open();
    await allDone();
  });

  it('coalesces: 200 enqueues at once start a handful of drain passes, each job once', async () => {
    const before = app.watched.state.emptyClaims;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, n) => enqueue({ type: 'slow', payload: { n } })));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await allDone();
    const ids = answers.map((a) => a.json.id as string);
    expect(ids.every((id) => log.runs.get(id) === 1)).toBe(true);
    // Without coalescing each enqueue would start its own pass, each ending on an empty claim.
    const passes = app.watched.state.emptyClaims - before;
    expect(passes).toBeLessThan(20);
  });

  it('does not run delayed jobs early', async () => {
    const delayed = await enqueue({ type: 'kicked', payload: { n: 2 }, delayMs: 3_600_000 });
    const later = await enqueue({ type: 'kicked', payload: { n: 3 }, runAt: new Date(Date.now() + 3_600_000).toISOString() });
    const now = await enqueue({ type: 'kicked', payload: { n: 4 } });
    await waitFor('the due job to finish', async () => (await countJobs(conn.db, sql`id = ${now.json.id} and ${UNFINISHED}`)) === 0 || undefined);
    expect(await countJobs(conn.db, sql`status = 'pending' and attempts = 0`)).toBe(2);
    expect(log.started).not.toContain(delayed.json.id);
    expect(log.started).not.toContain(later.json.id);
  });

  it('loses nothing when the kick fails: the job waits for the tick', async () => {
    app.watched.state.failClaims = true;
    const claims = app.watched.claims();
    const res = await enqueue({ type: 'kicked', payload: { n: 5 } });
    expect(res.status).toBe(202);
    await waitFor('the kick to try (and fail)', async () => (app.watched.claims() > claims ? true : undefined));
    app.watched.state.failClaims = false;
    expect(await countJobs(conn.db, sql`id = ${res.json.id} and status = 'pending' and attempts = 0`)).toBe(1);
    const tick = await app.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    expect(tick.json).toMatchObject({ completed: 1 });
    expect(log.runs.get(res.json.id)).toBe(1);
  });

  it('starts a retried dead job at once', async () => {
    const [dead] = await conn.db.execute(sql`insert into sluice.jobs (type, payload, status, attempts, last_error, dead_at)
      values ('kicked', '{"n":8}', 'dead', 5, 'boom', now()) returning id`).then((r) => (r as unknown as { rows: { id: string }[] }).rows);
    const res = await app.call('POST', `/api/jobs/${dead!.id}/retry`, { token: SECRETS.ADMIN_SECRET });
    expect(res.json).toMatchObject({ status: 'pending', attempts: 0 });
    await allDone();
    expect(log.runs.get(dead!.id)).toBe(1);
  });

  it('is off with SLUICE_KICK=off', async () => {
    const quiet = await startWakeApp(conn.db, [job, slow], { SLUICE_KICK: false, SLUICE_IDLE_CHECK_MS: 0 });
    try {
      const claims = quiet.watched.claims();
      const res = await quiet.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'kicked', payload: { n: 6 } } });
      expect(res.status).toBe(202);
      // A drain call afterwards finds it pending with its attempt unspent: nothing ran it meanwhile.
      const drained = await quiet.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
      expect(drained.json).toMatchObject({ claimed: 1, completed: 1 });
      expect(quiet.watched.claims() - claims).toBeLessThanOrEqual(2);
    } finally {
      await quiet.close();
    }
  });

  it('sluice.kick() runs what an app enqueued in its own transaction, once committed', async () => {
    const { sluice } = app;
    const ids: string[] = [];
    await conn.db.transaction(async (tx) => {
      ids.push((await sluice.enqueue('kicked', { n: 7 }, { tx })).id);
    });
    await sluice.kick();
    expect(log.runs.get(ids[0]!)).toBe(1);
    expect(await countJobs(conn.db, UNFINISHED)).toBe(0);
  });
});
