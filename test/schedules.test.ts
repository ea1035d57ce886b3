import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, defineSchedule } from '../lib/index.js';
import { enqueueDueSlots } from '../lib/queue/index.js';
import { dueSlots } from '../lib/queue/index.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { countJobs, UNFINISHED, select, waitFor } from './support/sql.js';
import { runProcesses } from './support/processes.js';
import { recordingJob, runLog, startWakeApp } from './support/wake.js';

const TICK_CHILD = new URL('./fixtures/tick-child.ts', import.meta.url).pathname;

// Schedules declared in code (issue 10): each slot enqueued exactly once, in its time zone, with catch-up.
const digest = defineJob({ type: 'digest', payload: z.object({ hour: z.number() }), handler: async () => {} });
const hourly = (catchUp: 'latest' | 'all' | 'none', extra: object = {}) =>
  defineSchedule({ name: `hourly-${catchUp}`, cron: '0 * * * *', job: digest, payload: { hour: 1 }, catchUp, ...extra });
const at = (iso: string) => Date.parse(iso);
const isos = (slots: Date[]) => slots.map((d) => d.toISOString());

describe('defineSchedule', () => {
  it('refuses a bad expression, time zone, payload or name at once, and createSluice a job it does not run', () => {
    expect(() => defineSchedule({ name: 'x', cron: '61 * * * *', job: digest, payload: { hour: 1 } })).toThrow(/cron "61 \* \* \* \*" is not valid/);
    expect(() => defineSchedule({ name: 'x', cron: '0 8 * * *', timezone: 'Mars/Olympus', job: digest, payload: { hour: 1 } })).toThrow(/not an IANA time zone/);
    expect(() => defineSchedule({ name: 'x', cron: '0 8 * * *', job: digest, payload: { hour: 'eight' } as never })).toThrow(/not a valid "digest" payload/);
    expect(() => defineSchedule({ name: 'no spaces', cron: '0 8 * * *', job: digest, payload: { hour: 1 } })).toThrow(/schedule name/);
    const other = defineJob({ type: 'other', payload: z.object({}), handler: async () => {} });
    // @ts-expect-error: a schedule of a job the instance does not define (a compile error too)
    expect(() => createSluice({ jobs: [other], schedules: [hourly('latest')] })).toThrow(/its job "digest" is not among createSluice's jobs/);
    expect(() => createSluice({ jobs: [digest], schedules: [hourly('latest'), hourly('latest')] })).toThrow(/defined twice/);
  });
});

describe('due slots', () => {
  it('catch up on missed slots: the latest once (default), all up to a bound, or none', () => {
    const last = at('2026-12-01T10:00:00Z');
    const now = at('2026-12-01T13:30:00Z');
    expect(isos(dueSlots(hourly('latest'), last, now).slots)).toEqual(['2026-12-01T13:00:00.000Z']);
    expect(isos(dueSlots(hourly('all'), last, now).slots)).toEqual(['2026-12-01T11:00:00.000Z', '2026-12-01T12:00:00.000Z', '2026-12-01T13:00:00.000Z']);
    expect(isos(dueSlots(hourly('all', { maxCatchUp: 2 }), last, now).slots)).toEqual(['2026-12-01T12:00:00.000Z', '2026-12-01T13:00:00.000Z']);
    expect(dueSlots(hourly('none'), last, now).slots).toEqual([]); // 13:00 is 30 min late
    expect(isos(dueSlots(hourly('none'), last, at('2026-12-01T13:01:00Z')).slots)).toEqual(['2026-12-01T13:00:00.000Z']);
    // Every policy moves the last slot to 13:00, and a schedule seen for the first time starts after now.
    expect(dueSlots(hourly('none'), last, now).latest).toBe(at('2026-12-01T13:00:00Z'));
    expect(dueSlots(hourly('all'), null, now)).toEqual({ slots: [], latest: at('2026-12-01T13:00:00Z') });
  });

  it('keep local time across a DST change, and run an hour that happens twice once', () => {
    const morning = defineSchedule({ name: 'paris-8', cron: '0 8 * * *', timezone: 'Europe/Paris', job: digest, payload: { hour: 8 }, catchUp: 'all' });
    // Summer time ends in Paris on 2026-10-25: 8:00 is 06:00Z before, 07:00Z after.
    expect(isos(dueSlots(morning, at('2026-10-23T12:00:00Z'), at('2026-10-26T12:00:00Z')).slots))
      .toEqual(['2026-10-24T06:00:00.000Z', '2026-10-25T07:00:00.000Z', '2026-10-26T07:00:00.000Z']);
    // 02:30 happens twice that night (CEST, then CET): one slot.
    const night = defineSchedule({ name: 'paris-230', cron: '30 2 * * *', timezone: 'Europe/Paris', job: digest, payload: { hour: 2 }, catchUp: 'all' });
    const slots = dueSlots(night, at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z')).slots;
    expect(slots).toHaveLength(2);
    expect(slots.map((d) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeStyle: 'short', dateStyle: 'short' }).format(d)))
      .toEqual(['25/10/2026, 02:30', '26/10/2026, 02:30']);
  });
});

describe('enqueueing slots', () => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  const jobs = new Map([[digest.type, digest]]);
  beforeAll(async () => { conn = await freshDatabase('pg'); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => {
    await conn.db.execute(sql`delete from sluice.jobs`);
    await conn.db.execute(sql`delete from sluice.schedules`);
  });

  it('enqueues each slot exactly once under repeated and overlapping ticks, four drain processes at once', async () => {
    const schedules = [hourly('all')];
    expect(await enqueueDueSlots(conn.db, schedules, at('2026-12-01T10:30:00Z'), { jobs })).toEqual({ enqueued: 0, failed: [] }); // first sighting
    // Four ticks at once in four processes (test/fixtures/tick-child.ts, the same schedule), two of
    // them a minute later (overlapping), all seeing 11:00 and 12:00 due.
    const nows = ['2026-12-01T12:30:00Z', '2026-12-01T12:30:00Z', '2026-12-01T12:31:00Z', '2026-12-01T12:31:00Z'].map(at);
    const outputs = await runProcesses(4, TICK_CHILD, (i) => ({ DATABASE_URL: conn.url, DRIVER: 'pg', MODE: 'schedules', NOW: String(nows[i]) }));
    const counts = outputs.map((lines) => JSON.parse(lines[0]!) as { enqueued: number; failed: string[] });
    expect(counts.flatMap((c) => c.failed)).toEqual([]);
    expect(counts.reduce((a, b) => a + b.enqueued, 0)).toBe(2);
    expect(await select(conn.db, sql`select idempotency_key from sluice.jobs order by 1`)).toEqual([
      { idempotency_key: 'schedule:hourly-all:2026-12-01T11:00:00.000Z' }, { idempotency_key: 'schedule:hourly-all:2026-12-01T12:00:00.000Z' },
    ]);
    // A duplicate delivery of the same tick later, after the jobs ran (rows gone, keys free again): nothing.
    await conn.db.execute(sql`delete from sluice.jobs`);
    expect((await enqueueDueSlots(conn.db, schedules, nows[0]!, { jobs })).enqueued).toBe(0);
    expect(await countJobs(conn.db, UNFINISHED)).toBe(0);
  });

  it('logs a schedule that fails and goes on with the others; the failed slot waits for the next tick', async () => {
    let broken = true;
    const flaky = defineSchedule({ name: 'flaky', cron: '0 * * * *', job: digest, payload: () => (broken ? { hour: 'x' } : { hour: 7 }) as never });
    const fine = defineSchedule({ name: 'fine', cron: '0 * * * *', job: digest, payload: { hour: 1 } });
    await enqueueDueSlots(conn.db, [flaky, fine], at('2026-12-01T10:30:00Z'), { jobs });
    expect(await enqueueDueSlots(conn.db, [flaky, fine], at('2026-12-01T11:00:05Z'), { jobs })).toEqual({ enqueued: 1, failed: ['flaky'] });
    broken = false;
    expect(await enqueueDueSlots(conn.db, [flaky, fine], at('2026-12-01T11:00:30Z'), { jobs })).toEqual({ enqueued: 1, failed: [] });
    expect(await countJobs(conn.db, UNFINISHED)).toBe(2);
  });

  it('records each slot with its idempotency key and payload', async () => {
    const perSlot = defineSchedule({ name: 'per-slot', cron: '0 * * * *', job: digest, payload: (slot) => ({ hour: slot.getUTCHours() }) });
    await enqueueDueSlots(conn.db, [perSlot], at('2026-12-01T10:30:00Z'), { jobs });
    expect((await enqueueDueSlots(conn.db, [perSlot], at('2026-12-01T11:00:05Z'), { jobs })).enqueued).toBe(1);
    expect(await select(conn.db, sql`select idempotency_key, payload from sluice.jobs`))
      .toEqual([{ idempotency_key: 'schedule:per-slot:2026-12-01T11:00:00.000Z', payload: { hour: 11 } }]);
  });
});

describe('schedules through the tick', () => {
  it('are enqueued and drained by GET /api/cron/drain, and listed by GET /api/schedules', async () => {
    const conn = await freshDatabase('pg');
    const log = runLog();
    const beat = recordingJob('beat', log);
    const everySecond = defineSchedule({ name: 'every-second', cron: '* * * * * *', job: beat, payload: { n: 1 } });
    const app = await startWakeApp(conn.db, [beat], { SLUICE_KICK: false, SLUICE_IDLE_CHECK_MS: 3_600_000 }, undefined, [everySecond]);
    try {
      const tick = async () => (await app.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET })).json;
      expect(await tick()).toMatchObject({ scheduled: 0 }); // first sighting: starts with the next slot
      const first = Date.now();
      await waitFor('the next second', async () => (Math.floor(Date.now() / 1000) > Math.floor(first / 1000) ? true : undefined));
      // A new slot makes the tick query though its idle hint says nothing is due.
      expect(await tick()).toMatchObject({ scheduled: 1, completed: 1 });
      expect(log.started).toHaveLength(1);
      const listed = (await app.call('GET', '/api/schedules', { token: SECRETS.ADMIN_SECRET })).json;
      expect(listed.schedules).toEqual([{
        name: 'every-second', cron: '* * * * * *', timezone: 'UTC', type: 'beat', catchUp: 'latest',
        nextSlot: expect.any(String), lastSlot: expect.any(String),
      }]);
      expect(Date.parse(listed.schedules[0].nextSlot)).toBeGreaterThan(Date.parse(listed.schedules[0].lastSlot));
      expect((await app.call('GET', '/api/schedules')).status).toBe(401);
      expect(await countJobs(conn.db, UNFINISHED)).toBe(0);
    } finally {
      await app.close();
      await conn.close();
    }
  });
});
