import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, type Sluice } from '../lib/index.js';
import { memoryHintStore } from '../lib/wake/hint.js';
import { SECRETS } from './http/context.js';
import { databaseAndWebhook } from './support/api.js';
import { waitFor } from './support/sql.js';

// Alerts (issue 12): the tick posts to ALERT_WEBHOOK_URL once when a condition starts, once when it
// clears, and again only after ALERT_REPEAT_MS; concurrent ticks send one message, not one each.
const fx = databaseAndWebhook(['jobs', 'app_alerts', 'queue_samples', 'apps']);

const work = defineJob({ type: 'work', payload: z.object({}), handler: async () => {} });

function instance(settings: Record<string, unknown> = {}): Sluice {
  return createSluice({
    jobs: [work], db: fx.conn.db, hints: memoryHintStore(),
    settings: { ...SECRETS, SLUICE_IDLE_CHECK_MS: 0, SLUICE_KICK: false, ALERT_WEBHOOK_URL: fx.webhook.url, ALERT_REPEAT_MS: 60_000, ...settings },
  });
}

/** A cron tick, as if a minute had passed: the housekeeping runs once a minute (it looks for this minute's sample). */
async function tick(sluice: Sluice) {
  await fx.conn.db.execute(sql`delete from sluice.queue_samples`);
  return sluice.wake({ reason: 'tick', deadline: Date.now() + 5_000, runtime: { waitUntil: () => {}, runsAfterResponse: true } });
}

const dead = (n: number) => fx.conn.db.execute(sql`insert into sluice.jobs (type, payload, status, attempts, dead_at)
  select 'work', '{}', 'dead', 5, now() from generate_series(1, ${n})`);
const messages = () => fx.webhook.received.map((r) => r.body as { text: string; alert: { name: string; state: string; value: number } });

describe('alerts', () => {
  it('one message when a condition starts, none while it holds, a reminder after ALERT_REPEAT_MS, one on recovery', async () => {
    const sluice = instance();
    expect(await tick(sluice)).toMatchObject({ alerted: 0 }); // healthy from the start: nothing to say
    await dead(1);
    expect(await tick(sluice)).toMatchObject({ alerted: 1 });
    expect(messages()).toEqual([{ text: expect.stringContaining('1 dead job (alert above 0)'), alert: { name: 'dead', state: 'firing', value: 1, description: expect.any(String) } }]);
    await dead(2); // more of the same: no new message
    expect(await tick(sluice)).toMatchObject({ alerted: 0 });
    await fx.conn.db.execute(sql`update sluice.app_alerts set sent_at = now() - interval '61 seconds' where name = 'dead'`); // ALERT_REPEAT_MS passed
    expect(await tick(sluice)).toMatchObject({ alerted: 1 });
    expect(messages()[1]).toMatchObject({ text: expect.stringContaining('still: 3 dead jobs'), alert: { state: 'reminder', value: 3 } });
    expect(await tick(sluice)).toMatchObject({ alerted: 0 });
    // An operator retries them all; the next tick runs them and finds nothing dead.
    expect(await sluice.admin.retryDead()).toEqual({ count: 3, more: false });
    expect(await tick(sluice)).toMatchObject({ completed: 3, alerted: 1 });
    expect(messages()[2]).toMatchObject({ text: expect.stringContaining('resolved'), alert: { name: 'dead', state: 'resolved', value: 0 } });
    expect(await tick(sluice)).toMatchObject({ alerted: 0 });
    expect(messages()).toHaveLength(3);
  });

  it('five ticks at once send the message once', async () => {
    await tick(instance());
    await dead(1);
    const sluices = Array.from({ length: 5 }, () => instance());
    await fx.conn.db.execute(sql`delete from sluice.queue_samples`);
    const ticks = await Promise.all(sluices.map((s) => s.wake({ reason: 'tick', deadline: Date.now() + 5_000, runtime: { waitUntil: () => {}, runsAfterResponse: true } })));
    expect(ticks.reduce((n, t) => n + t.alerted, 0)).toBe(1);
    expect(messages()).toHaveLength(1);
  });

  it('a message the webhook refused is sent again by the next check', async () => {
    const sluice = instance();
    await tick(sluice);
    await dead(1);
    fx.webhook.status = 500;
    expect(await tick(sluice)).toMatchObject({ alerted: 0 });
    expect(fx.webhook.received).toHaveLength(1);
    fx.webhook.status = 200;
    expect(await tick(sluice)).toMatchObject({ alerted: 1 });
    expect(messages().map((m) => m.alert.state)).toEqual(['firing', 'firing']);
  });

  it('jobs waiting too long and drains that stopped, announced by /api/health when no tick runs at all', async () => {
    const sluice = instance({ ALERT_OLDEST_PENDING_MS: 60_000, ALERT_DRAIN_STALE_MS: 120_000 });
    await fx.conn.db.execute(sql`insert into sluice.jobs (type, payload, run_after) values ('work', '{}', now() - interval '10 minutes')`);
    await fx.conn.db.execute(sql`insert into sluice.apps (app, last_drain_ok_at) values (${sluice.scope().app}, now() - interval '30 minutes')`);
    const res = await sluice.fetch(new Request('http://localhost/api/health'));
    expect(res.status).toBe(503);
    const sent = await waitFor('two alerts', async () => (fx.webhook.received.length >= 2 ? messages() : undefined));
    expect(sent.map((m) => m.alert.name).sort()).toEqual(['drains_stale', 'oldest_pending']);
    expect(sent.find((m) => m.alert.name === 'drains_stale')!.text).toContain('are the crons running?');
    // Every later visit of the monitor is quiet until something changes.
    for (let i = 0; i < 3; i++) await sluice.fetch(new Request('http://localhost/api/health'));
    await tick(sluice); // the crons are back: the job runs (its sample, taken first, still saw the problems)
    await tick(sluice); // ...and the next one finds both conditions cleared
    await waitFor('two recoveries', async () => (fx.webhook.received.length >= 4 ? true : undefined));
    expect(messages().slice(2).map((m) => `${m.alert.name} ${m.alert.state}`).sort()).toEqual(['drains_stale resolved', 'oldest_pending resolved']);
    expect(messages()).toHaveLength(4);
  });
});
