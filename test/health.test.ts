import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serve, type NodeServer } from '../lib/adapters/node.js';
import { createSluice, defineJob, type Config, type Db } from '../lib/index.js';
import { SECRETS } from './http/context.js';
import { client } from './http/support.js';
import { startWebhook } from './support/api.js';
import { freshDatabase } from './support/db.js';
import { waitFor } from './support/sql.js';
import { watchedDb } from './support/wake.js';

// /api/health is open to anyone, so it must never be an amplifier: an instance answers callers without
// a secret from its last reading while it is younger than SLUICE_HEALTH_CACHE_MS, and callers arriving
// while a reading is under way wait for that one. Every statement the instance sends is counted here.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
const servers: NodeServer[] = [];
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => {
  for (const server of servers) await server.close();
  await conn?.close();
});
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); });

const work = defineJob({ type: 'work', payload: z.object({}), handler: async () => {} });

/** An instance over real HTTP whose every statement is recorded. */
async function start(settings: Partial<Config> = {}, db: Db = conn.db) {
  const watched = watchedDb(db);
  const sluice = createSluice({ jobs: [work], db: watched.db, settings: { ...SECRETS, SLUICE_KICK: false, ...settings } });
  const server = await serve(sluice, { port: 0 });
  servers.push(server);
  const call = client(server.url);
  const health = (token?: string) => call('GET', '/api/health', token ? { token } : {});
  return { watched, health };
}
const many = <T>(n: number, call: () => Promise<T>) => Promise.all(Array.from({ length: n }, call));

describe('GET /api/health without a secret', () => {
  it('sends one query however many callers come at once, and none more within the window', async () => {
    const { watched, health } = await start({ SLUICE_HEALTH_CACHE_MS: 600_000 });
    const answers = await many(50, () => health());
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(watched.statements).toHaveLength(1);
    for (let i = 0; i < 20; i++) await health();
    await many(50, () => health('not-the-secret'));
    expect(watched.statements).toHaveLength(1);
  });

  it('shows only { ok } and the status; a caller with HEALTH_SECRET or ADMIN_SECRET gets a reading of its own, with the counts', async () => {
    const { watched, health } = await start({ SLUICE_HEALTH_CACHE_MS: 600_000, HEALTH_SECRET: 'health-secret-value' });
    expect((await health()).json).toEqual({ ok: true });
    await conn.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values ('work', '{}', 'dead', now())`);
    expect((await health()).json).toEqual({ ok: true }); // the reading of before, within its window
    for (const token of ['health-secret-value', SECRETS.ADMIN_SECRET]) {
      const res = await health(token);
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ ok: false, dead: 1, problems: ['1 dead job (> 0)'], exact: true });
    }
    // Two readings, and one look at the throttle for the caller's address (a right secret's address is
    // looked up once a window on an instance).
    expect(watched.statements).toHaveLength(4);
    // The window starts again from the latest reading: callers without a secret now see the problem.
    const open = await health();
    expect([open.status, open.json]).toEqual([503, { ok: false }]);
    expect(watched.statements).toHaveLength(4);
  });

  it('reads again once the window has passed', async () => {
    const { watched, health } = await start({ SLUICE_HEALTH_CACHE_MS: 1_000 });
    await health();
    expect(watched.statements).toHaveLength(1);
    await waitFor('a second reading', async () => ((await health(), watched.statements.length) === 2 ? true : undefined));
  });

  it('asks a database that is down once a window too, and says 503', async () => {
    let asked = 0;
    const down = new Proxy(conn.db, {
      get: (target, property, receiver) => (property === 'execute'
        ? () => { asked++; return Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })); }
        : Reflect.get(target, property, receiver)),
    });
    const { health } = await start({ SLUICE_HEALTH_CACHE_MS: 600_000 }, down);
    const answers = await many(20, () => health());
    expect(answers.map((a) => [a.status, a.json])).toEqual(Array(20).fill([503, { ok: false }]));
    expect(asked).toBe(1);
    // Even the secret's holder gets the short answer: the throttle cannot be asked either, and an outage
    // must not tell a right secret from a wrong one.
    expect((await health(SECRETS.ADMIN_SECRET)).json).toEqual({ ok: false });
  });

  it('with alerts on, checks them in that same one statement, and announces what changed', async () => {
    const webhook = await startWebhook();
    try {
      await conn.db.execute(sql`insert into sluice.jobs (type, payload, status, dead_at) values ('work', '{}', 'dead', now())`);
      const { watched, health } = await start({ SLUICE_HEALTH_CACHE_MS: 600_000, ALERT_WEBHOOK_URL: webhook.url });
      await many(30, () => health());
      expect(watched.statements).toHaveLength(1);
      expect(watched.statements[0]).toContain('sluice.app_alerts');
      const [message] = await waitFor('the alert', async () => (webhook.received.length > 0 ? webhook.received : undefined));
      expect(message!.body).toMatchObject({ alert: { name: 'dead', state: 'firing', value: 1 } });
    } finally {
      await webhook.close();
    }
  });
});
