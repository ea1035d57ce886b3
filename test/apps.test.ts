import { sql } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, PayloadTooLargeError, type Config, type Sluice } from '../lib/index.js';
import { appName } from '../lib/queue/index.js';
import { drainSlotsTake } from '../lib/queue/core/queries-coordination.js';
import type { DrainStart, WakeRuntime } from '../lib/wake/runtime.js';
import { SECRETS } from './http/context.js';
import { databaseAndWebhook } from './support/api.js';
import { countJobs } from './support/sql.js';

// Two apps, one database: instances with different job sets coordinate apart (lib/queue/app.ts). One
// app's drains, kicks and alerts never stand in for the other's, and its retention never touches the
// other's jobs. Two instances in one process share no settings and no driver options.
const fx = databaseAndWebhook(['jobs', 'apps', 'app_alerts', 'app_drain_slots', 'queue_samples']);

const job = (type: string) => defineJob({ type, payload: z.object({}), handler: async () => {} });
const billing = [job('invoice'), job('receipt')];
const mail = [job('email')];

/** An app on the test database. The Runtime Cache stands for the idle hint (VERCEL=1 at creation picks it,
 *  as on Vercel; outside a Vercel request it is a cache in this process's memory, shared like the real one). */
function app(jobs: ReturnType<typeof job>[], settings: Partial<Config> = {}): Sluice {
  process.env.VERCEL = '1';
  try {
    return createSluice({ jobs, db: fx.conn.db, settings: { ...SECRETS, SLUICE_KICK: false, ...settings } });
  } finally {
    delete process.env.VERCEL;
  }
}
const runtime: WakeRuntime = { waitUntil: () => {}, runsAfterResponse: true };
/** A cron tick, as if a minute had passed since the last (the housekeeping looks for this minute's sample). */
const tick = async (sluice: Sluice) => {
  await fx.conn.db.execute(sql`delete from sluice.queue_samples`);
  return sluice.tick({ reason: 'tick', deadline: Date.now() + 5_000, runtime });
};
const health = async (sluice: Sluice) => {
  const res = await sluice.fetch(new Request('http://localhost/api/health', { headers: { authorization: `Bearer ${SECRETS.ADMIN_SECRET}` } }));
  return { status: res.status, json: (await res.json()) as { problems: string[] } };
};
const due = (type: string, ago = '1 hour') => fx.conn.db.execute(sql`insert into sluice.jobs (type, payload, run_after) values (${type}, '{}', now() - ${ago}::interval)`);
const dead = (type: string, ago: string) => fx.conn.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values (${type}, '{}', 'dead', now() - ${ago}::interval)`);

describe('two apps on one database', () => {
  it('are apart with no setting (a name derived from the job types), or by SLUICE_APP', () => {
    expect(app(billing).scope()).toEqual({ app: appName(['invoice', 'receipt']), types: ['invoice', 'receipt'] });
    expect(app([...billing].reverse()).scope().app).toBe(app(billing).scope().app);
    expect(app(mail).scope().app).not.toBe(app(billing).scope().app);
    expect(app(mail, { SLUICE_APP: 'mailer' }).scope()).toEqual({ app: 'mailer', types: ['email'] });
  });

  it('one app\'s good drains are not the other\'s dead-man mark', async () => {
    const [a, b] = [app(billing, { ALERT_DRAIN_STALE_MS: 60_000 }), app(mail, { ALERT_DRAIN_STALE_MS: 60_000, ALERT_OLDEST_PENDING_MS: 86_400_000 })];
    await due('email');
    expect(await a.drain()).toMatchObject({ claimed: 0, stoppedBy: 'empty' });
    expect((await a.stats()).lastDrainAgeMs).toEqual(expect.any(Number));
    expect((await b.stats()).lastDrainAgeMs).toBeNull();
    expect((await health(a)).status).toBe(200); // the other app's due job is not this one's
    const stopped = await health(b);
    expect(stopped.status).toBe(503);
    expect(stopped.json.problems).toEqual([expect.stringMatching(/no drain has ended well yet while jobs are due/)]);
  });

  it('one app\'s kick mark does not hold back the other\'s kicks', async () => {
    const started: string[] = [];
    const elsewhere = (name: string): WakeRuntime => ({ ...runtime, runsAfterResponse: false, startDrain: async (s: DrainStart) => void started.push(`${name} ${s.reason}`) });
    const [a, b] = [app(billing, { SLUICE_KICK: true }), app(mail, { SLUICE_KICK: true })];
    await a.kick({ runtime: elsewhere('billing') });
    await a.kick({ runtime: elsewhere('billing') }); // held back: the first one's drain will see its jobs
    await b.kick({ runtime: elsewhere('mail') });
    expect(started).toEqual(['billing kick', 'mail kick']);
  });

  it('one app\'s empty drain does not tell the other\'s ticks that nothing is due (idle hints)', async () => {
    const [a, b] = [app(billing), app(mail)];
    await b.enqueue('email', {}); // the hint: mail work is due now
    expect(await tick(a)).toMatchObject({ claimed: 0, stoppedBy: 'empty' }); // billing: nothing due, it notes so
    expect(await tick(a)).toMatchObject({ stoppedBy: 'idle' });
    expect(await tick(b)).toMatchObject({ claimed: 1, completed: 1 });
  });

  it('drain slots are per app: one app fanning out leaves the other its own', async () => {
    const [a, b] = [app(billing).scope().app, app(mail).scope().app];
    expect(await drainSlotsTake(fx.conn.db, a, 3, 3, 60_000)).toEqual([1, 2, 3]);
    expect(await drainSlotsTake(fx.conn.db, a, 1, 3, 60_000)).toEqual([]);
    expect(await drainSlotsTake(fx.conn.db, b, 3, 3, 60_000)).toEqual([1, 2, 3]);
  });

  it('alerts count only the app\'s own jobs, and each app keeps its own alert states', async () => {
    const settings = { ALERT_WEBHOOK_URL: fx.webhook.url, SLUICE_IDLE_CHECK_MS: 0 };
    const [a, b] = [app(billing, settings), app(mail, settings)];
    await dead('email', '1 minute');
    expect(await tick(a)).toMatchObject({ alerted: 0 });
    expect((await health(a)).status).toBe(200); // its health's alert check too
    expect(fx.webhook.received).toEqual([]);
    expect(await tick(b)).toMatchObject({ alerted: 1 });
    await dead('invoice', '1 minute');
    expect(await tick(a)).toMatchObject({ alerted: 1 }); // its own condition, not already "firing" for the other
    expect(fx.webhook.received.map((r) => (r.body as { alert: { name: string; value: number } }).alert)).toEqual([
      expect.objectContaining({ name: 'dead', value: 1 }), expect.objectContaining({ name: 'dead', value: 1 }),
    ]);
  });

  it('retention prunes only the app\'s own dead jobs, at its own SLUICE_DEAD_RETENTION', async () => {
    const [a, b] = [app(billing, { SLUICE_DEAD_RETENTION: 86_400_000, SLUICE_IDLE_CHECK_MS: 0 }), app(mail, { SLUICE_IDLE_CHECK_MS: 0 })];
    await dead('invoice', '2 days');
    await dead('email', '2 days');
    await tick(a);
    expect(await countJobs(fx.conn.db, sql`type = 'invoice'`)).toBe(0);
    expect(await countJobs(fx.conn.db, sql`type = 'email'`)).toBe(1); // the mail app keeps its dead jobs 30 days
    await tick(b);
    expect(await countJobs(fx.conn.db, sql`type = 'email'`)).toBe(1);
  });
});

describe('two instances in one process', () => {
  it('see only their own settings', async () => {
    const note = defineJob({ type: 'note', payload: z.object({ text: z.string() }), handler: async () => {} });
    const small = createSluice({ jobs: [note], db: fx.conn.db, settings: { SLUICE_MAX_PAYLOAD_BYTES: 64 } });
    const large = createSluice({ jobs: [note], db: fx.conn.db, settings: { SLUICE_MAX_PAYLOAD_BYTES: 4_096 } });
    await expect(small.enqueue(note, { text: 'x'.repeat(200) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await large.enqueue(note, { text: 'x'.repeat(200) })).toMatchObject({ duplicate: false });
    expect([small.settings().SLUICE_MAX_PAYLOAD_BYTES, large.settings().SLUICE_MAX_PAYLOAD_BYTES]).toEqual([64, 4_096]);
  });

  it('keep their own neon driver options: one instance\'s relay is not the other\'s', async () => {
    const through = (proxy: string) => createSluice({ jobs: mail, url: fx.conn.url, driver: 'neon', settings: { ...SECRETS, NEON_WS_PROXY: proxy } });
    const [good, bad] = [through(inject('wsProxy')), through('127.0.0.1:9/nowhere')];
    try {
      void good.db; // both pools exist before either connects: a module-wide option would now be the bad one's
      void bad.db;
      await expect(bad.stats()).rejects.toThrow();
      expect(await good.stats()).toMatchObject({ pending: expect.any(Number) });
    } finally {
      await Promise.all([good.close(), bad.close()]);
    }
  });
});
