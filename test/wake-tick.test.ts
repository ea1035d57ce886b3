import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryHintStore } from '../lib/wake/hint.js';
import { IdleGate } from '../lib/wake/idle.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { countJobs, UNFINISHED, select, waitFor } from './support/sql.js';
import { recordingJob, runLog, startWakeApp, type WakeApp } from './support/wake.js';

// The tick (issue 9): an idle queue lets the database sleep; a backlog fans out and continues.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
const log = runLog();
const quick = recordingJob('quick', log);
const slow = recordingJob('slow', log, 20);
const apps: WakeApp[] = [];
const start = async (...args: Parameters<typeof startWakeApp> extends [unknown, unknown, ...infer R] ? R : never) => {
  const app = await startWakeApp(conn.db, [quick, slow], { SLUICE_KICK: false, ...args[0] }, args[1]);
  apps.push(app);
  return app;
};
const tick = async (app: WakeApp) => {
  const res = await app.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
  expect(res.status).toBe(200);
  return res.json;
};
const insertDue = (type: string, count: number) =>
  conn.db.execute(sql`insert into sluice.jobs (type, payload) select ${type}, jsonb_build_object('n', g) from generate_series(1, ${count}) g`);

beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => {
  for (const app of apps) await app.close();
  await conn?.close();
});
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  await conn.db.execute(sql`delete from sluice.app_drain_slots`);
});

describe('an idle queue', () => {
  it('costs one statement for a tick that queries, none for one the hint lets skip', async () => {
    const app = await start({ SLUICE_IDLE_CHECK_MS: 3_600_000 });
    expect(await tick(app)).toMatchObject({ claimed: 0, stoppedBy: 'empty' }); // no hint yet: a full check
    // Besides the tick's statement, the throttle of wrong secrets looks the cron's address up, once
    // (lib/http/throttle.ts): the later ticks cost nothing at all.
    const [throttle, ...tick1] = app.watched.statements;
    expect(throttle).toContain('sluice.auth_failures');
    expect(tick1).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect(await tick(app)).toMatchObject({ claimed: 0, stoppedBy: 'idle' });
    expect(app.watched.statements).toHaveLength(2);
    // That one statement also wrote the dead-man switch's heartbeat.
    expect(await select(conn.db, sql`select 1 from sluice.apps where last_drain_ok_at > now() - interval '1 minute'`)).toHaveLength(1);
  });

  it('wakes for a job enqueued through the instance, and for a delayed one once it is due', async () => {
    const app = await start({ SLUICE_IDLE_CHECK_MS: 3_600_000 });
    await tick(app);
    expect(await tick(app)).toMatchObject({ stoppedBy: 'idle' });
    await app.sluice.enqueue('quick', { n: 1 });
    expect(await tick(app)).toMatchObject({ completed: 1 });
    const { id } = await app.sluice.enqueue('quick', { n: 2 }, { delayMs: 300 });
    expect(await tick(app)).toMatchObject({ stoppedBy: 'idle' }); // not due yet: no query
    await waitFor('the delayed job to fall due', async () => (Date.now() > (await app.hints.get())!.dueAt! ? true : undefined));
    expect(await tick(app)).toMatchObject({ completed: 1 });
    expect(log.runs.get(id)).toBe(1);
  });

  it('finds a job whose hint was lost at the next periodic check', async () => {
    const hints = memoryHintStore();
    const app = await start({ SLUICE_IDLE_CHECK_MS: 3_600_000 }, hints);
    await tick(app);
    await insertDue('quick', 1); // behind the instance's back: no hint
    expect(await tick(app)).toMatchObject({ stoppedBy: 'idle' });
    const hint = (await hints.get())!;
    await hints.set({ ...hint, checkedAt: Date.now() - 3_600_000 }); // the check period has passed
    expect(await tick(app)).toMatchObject({ completed: 1 });
    expect(await tick(app)).toMatchObject({ stoppedBy: 'idle' });
  });

  it('queries on every tick with SLUICE_IDLE_CHECK_MS=0', async () => {
    const app = await start({ SLUICE_IDLE_CHECK_MS: 0 });
    for (let i = 0; i < 3; i++) expect(await tick(app)).toMatchObject({ stoppedBy: 'empty' });
    expect(app.watched.statements.filter((s) => !s.includes('sluice.auth_failures'))).toHaveLength(3);
  });
});

describe('a backlog', () => {
  it('continues in a fresh invocation when the deadline stops a drain with work left', async () => {
    const app = await start({ SLUICE_MAX_FANOUT: 1, DRAIN_MAX_DURATION_MS: 1_500, SLUICE_IDLE_CHECK_MS: 0 });
    await insertDue('slow', 1_200); // 1,200 x 20 ms over 10 handlers: 2.4 s of work for drains of 1.3 s
    const first = await tick(app);
    expect(first).toMatchObject({ stoppedBy: 'deadline', continued: true, fannedOut: 0 });
    await waitFor('the continuations to drain the rest', async () => ((await countJobs(conn.db, UNFINISHED)) === 0 ? true : undefined), 60_000);
    expect([...log.runs.values()].every((n) => n === 1)).toBe(true);
    const hops = app.drainBodies.map((b) => (b as { start: { hop: number; reason: string } }).start);
    expect(hops.length).toBeGreaterThan(0);
    expect(hops.map((h) => h.hop)).toEqual(hops.map((_, i) => i + 1)); // one chain: 1, 2, 3...
    expect(hops.every((h) => h.reason === 'continue')).toBe(true);
  });

  it('stops continuing after SLUICE_MAX_CONTINUATIONS hand-overs', async () => {
    const app = await start({ SLUICE_MAX_FANOUT: 1, SLUICE_MAX_CONTINUATIONS: 2, DRAIN_MAX_DURATION_MS: 1_000, SLUICE_IDLE_CHECK_MS: 0 });
    await insertDue('slow', 5_000); // far more than three drains of under a second can run
    await tick(app);
    await waitFor('two hand-overs', async () => (app.drainBodies.length === 2 ? true : undefined));
    // The second continuation (hop 2) ends without a third: the slot comes free and work stays for the next tick.
    await waitFor('the chain to end', async () => {
      const [held] = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from sluice.app_drain_slots where held_until > now()`);
      return held!.n === 0 && (await countJobs(conn.db, sql`status = 'running'`)) === 0 ? true : undefined;
    });
    expect(app.drainBodies).toHaveLength(2);
    expect(await countJobs(conn.db, sql`status = 'pending'`)).toBeGreaterThan(0);
  });

  it('fans out to SLUICE_MAX_FANOUT drains at most, and no job runs twice', async () => {
    const app = await start({ SLUICE_MAX_FANOUT: 3, SLUICE_MAX_CONTINUATIONS: 50, DRAIN_MAX_DURATION_MS: 2_000, SLUICE_IDLE_CHECK_MS: 0 });
    await insertDue('slow', 3_000);
    let mostSlots = 0;
    const watching = setInterval(() => {
      void select<{ n: number }>(conn.db, sql`select count(*)::int as n from sluice.app_drain_slots where held_until > now()`)
        .then(([r]) => (mostSlots = Math.max(mostSlots, r!.n)), () => {});
    }, 20);
    try {
      const first = await tick(app);
      expect(first.fannedOut).toBe(2);
      // A second tick while the backlog drains finds every slot held: it drains, but starts no more.
      expect(await tick(app)).toMatchObject({ fannedOut: 0 });
      await waitFor('the backlog to drain', async () => ((await countJobs(conn.db, UNFINISHED)) === 0 ? true : undefined), 90_000);
    } finally {
      clearInterval(watching);
    }
    expect(log.runs.size).toBeGreaterThanOrEqual(3_000);
    expect([...log.runs.values()].every((n) => n === 1)).toBe(true);
    expect(mostSlots).toBeLessThanOrEqual(2);
    expect(app.drainBodies.filter((b) => (b as { start: { reason: string } }).start.reason === 'fanout')).toHaveLength(2);
  });
});

describe('hand-overs', () => {
  it('go to the server\'s own address, never to a host the request names', async () => {
    const app = await start({ SLUICE_MAX_FANOUT: 1, DRAIN_MAX_DURATION_MS: 1_000, SLUICE_IDLE_CHECK_MS: 0 });
    await insertDue('slow', 1_000);
    const { request } = await import('node:http');
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(`${app.server.url}/api/cron/drain`, { headers: { host: 'attacker.example:9999', authorization: `Bearer ${SECRETS.CRON_SECRET}` } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
      });
      req.on('error', reject).end();
    });
    // The drain ran out of time with work left and handed over: to this server (which recorded the
    // call), so the drain secret went nowhere else.
    expect(JSON.parse(answer)).toMatchObject({ stoppedBy: 'deadline', continued: true });
    await waitFor('the hand-over to arrive here', async () => (app.drainBodies.length > 0 ? true : undefined));
    expect(app.drainBodies[0]).toMatchObject({ start: { reason: 'continue', hop: 1 } });
  });
});

describe('the idle hint', () => {
  const summary = { claimed: 1, completed: 1, retried: 0, dead: 0, rescued: 0, cancelled: 0, released: 0, handedBack: 0, waiting: 0, durationMs: 1, stoppedBy: 'empty' as const };

  it('brings a tick once a drain that never ended would have lost its leases: the rescue', async () => {
    let now = 1_000_000;
    const store = memoryHintStore();
    const gate = new IdleGate(store, () => 15 * 60_000, () => now);
    await gate.afterDrain(now, summary, undefined); // a full check: nothing due
    expect(await gate.shouldQuery()).toBe(false);
    await gate.noteLeases(now + 70_000); // a drain starts, then dies without a word
    now += 60_000;
    expect(await gate.shouldQuery()).toBe(false); // its leases still run
    now += 10_000;
    expect(await gate.shouldQuery()).toBe(true); // they have run out: a tick queries, its claim rescues
    await gate.afterDrain(now, summary, undefined);
    expect(await gate.shouldQuery()).toBe(false);
  });

  it('keeps a due time an enqueue wrote while a drain was looking', async () => {
    let now = 2_000_000;
    const gate = new IdleGate(memoryHintStore(), () => 15 * 60_000, () => now);
    const drainStarted = now;
    now += 5;
    await gate.noteDue(now); // enqueued after the drain's last claim looked
    now += 5;
    await gate.afterDrain(drainStarted, summary, undefined);
    expect(await gate.shouldQuery()).toBe(true);
  });
});
