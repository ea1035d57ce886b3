import { connect, enqueueMany, migrate } from '../../lib/queue/index.js';
import type { WakeSummary } from '../../lib/wake/wake.js';
import { round, withPort, type Context } from '../context.js';
import { startRelay } from '../relay.js';
import { sleep } from '../wake/clock.js';
import { sleep5 } from '../wake/jobs.js';
import { startWakeApp, type WakeApp } from '../wake/processes.js';

export interface IdleRow {
  /** SLUICE_IDLE_CHECK_MS in simulated minutes (0: every tick queries, as before issue 9). */
  checkEveryMin: number;
  ticks: number;
  /** Ticks that queried the database (stoppedBy other than 'idle'). */
  dbTicks: number;
  /** What the app sent Postgres during the hour, counted by a 0 ms relay: statements, round trips, connections opened. */
  statements: number;
  turns: number;
  connections: number;
}

/** How late a job enqueued mid-hour starts, in real ms and in ticks (simulated minutes). */
export interface IdleDelay { ms: number; ticks: number }

export interface WakeIdle {
  /** Real ms standing for one minute (one cron tick). */
  tickMs: number;
  rows: IdleRow[];
  /** Enqueued through the instance (POST /api/jobs, which writes the idle hint), kicks off, half a tick after a tick. */
  viaInstance: IdleDelay;
  /** Inserted behind the instance's back (no hint) right after a tick that queried: the worst case. */
  behindBack: IdleDelay;
  /** The bound for that delay: one tick plus the check period, in ticks. */
  boundTicks: number;
}

const HOUR = 60; // ticks: one a minute
const CHECK_MIN = 15; // SLUICE_IDLE_CHECK_MS's default, in minutes
const SECRETS = { CRON_SECRET: 'bench-cron-secret', ENQUEUE_SECRET: 'bench-enqueue-secret' };

/**
 * One idle hour of cron ticks (GET /api/cron/drain) in compressed time, a tick every `idleTickMs`
 * standing for a minute and SLUICE_IDLE_CHECK_MS scaled alike, against a fresh instance of the bench
 * app (its hint starts empty, so the hour's first tick queries). Postgres traffic is counted by a 0 ms
 * relay between the app and the server. Then, with the default check, how late a job enqueued mid-hour
 * starts with kicks off: through the instance, and behind its back.
 */
export async function wakeIdle(ctx: Context): Promise<WakeIdle> {
  const tickMs = ctx.sizes.idleTickMs;
  const url = await ctx.pg.createDatabase('wake_idle');
  const seeder = connect(url, { driver: 'pg', max: 1 });
  const relay = await startRelay({ target: { host: ctx.pg.host, port: ctx.pg.port }, rttMs: 0, protocol: 'pg' });
  const rows: IdleRow[] = [];
  let delays: { viaInstance: IdleDelay; behindBack: IdleDelay } | undefined;
  try {
    await migrate(seeder.db);
    for (const checkEveryMin of [CHECK_MIN, 0]) {
      ctx.log(`wake idle: ${HOUR} ticks of ${tickMs} ms, SLUICE_IDLE_CHECK_MS = ${checkEveryMin} simulated min (${checkEveryMin * tickMs} ms)`);
      const app = await startWakeApp(withPort(url, relay.port), { ...SECRETS, SLUICE_KICK: false, SLUICE_IDLE_CHECK_MS: checkEveryMin * tickMs });
      try {
        const next = ticker(app, tickMs);
        relay.reset();
        let dbTicks = 0;
        for (let i = 0; i < HOUR; i++) if ((await next()).summary.stoppedBy !== 'idle') dbTicks++;
        const { statements, turns, connections } = relay.stats();
        rows.push({ checkEveryMin, ticks: HOUR, dbTicks, statements, turns, connections });
        ctx.log(`  ${dbTicks} ticks queried: ${statements} statements, ${turns} round trips, ${connections} connections`);
        if (checkEveryMin > 0) delays = await lateness(app, next, seeder.db, tickMs);
      } finally {
        await app.stop();
      }
    }
  } finally {
    await relay.close();
    await seeder.close();
  }
  ctx.log(`  a job enqueued mid-hour starts ${delays!.viaInstance.ticks} ticks late through the instance, ${delays!.behindBack.ticks} behind its back`);
  return { tickMs, rows, ...delays!, boundTicks: CHECK_MIN + 1 };
}

type Tick = { at: number; summary: WakeSummary };

/** Ticks on a fixed schedule, `tickMs` apart (a slow tick never makes the next come early). */
function ticker(app: WakeApp, tickMs: number) {
  let due = performance.now();
  return async (): Promise<Tick> => {
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    due = Math.max(due, performance.now()) + tickMs;
    const at = performance.now();
    const res = await fetch(`${app.url}/api/cron/drain`, { headers: { authorization: `Bearer ${SECRETS.CRON_SECRET}` } });
    if (!res.ok) throw new Error(`GET /api/cron/drain answered ${res.status}: ${await res.text()}`);
    return { at, summary: (await res.json()) as WakeSummary };
  };
}

/** The two mid-hour jobs: behind the instance's back right after a querying tick, then through it. */
async function lateness(app: WakeApp, next: () => Promise<Tick>, db: Parameters<typeof enqueueMany>[0], tickMs: number) {
  const startedBy = async (enqueuedAt: number): Promise<IdleDelay> => {
    for (let i = 0; i < 3 * CHECK_MIN; i++) {
      const t = await next();
      if (t.summary.claimed > 0) return { ms: Math.round(t.at - enqueuedAt), ticks: round((t.at - enqueuedAt) / tickMs) };
    }
    throw new Error(`a job enqueued mid-hour did not start within ${3 * CHECK_MIN} ticks`);
  };
  while ((await next()).summary.stoppedBy === 'idle');
  const hidden = performance.now();
  await enqueueMany(db, [{ job: sleep5, payload: {} }]);
  const behindBack = await startedBy(hidden);
  for (let i = 0; i < 5; i++) await next();
  await sleep(tickMs / 2);
  const seen = performance.now();
  const res = await fetch(`${app.url}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.ENQUEUE_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'sleep5', payload: {} }),
  });
  if (res.status !== 202) throw new Error(`POST /api/jobs answered ${res.status}: ${await res.text()}`);
  return { behindBack, viaInstance: await startedBy(seen) };
}
