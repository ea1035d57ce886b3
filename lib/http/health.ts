import type { Context } from 'hono';
import { alertsCheck, healthProblems, STATS_LIVE_LIMIT, toQueueStats, type QueueStats } from '../queue/index.js';
import { log } from '../queue/log.js';
import { alertThresholds, announce } from '../wake/alerts.js';
import { resolveRuntime, type WakeRuntime } from '../wake/runtime.js';
import type { HttpHandler, SluiceEnv } from './app.js';
import type { RouteHost } from './host.js';
import { throttle } from './throttle.js';
import { bearerAttempt } from './auth.js';

/** With alerts on, a health reading checks them too, at most this often an instance. */
const ALERT_CHECK_EVERY_MS = 15_000;

/**
 * An instance's health readings. Anyone may call /api/health, as often as they like: a caller without
 * a secret gets the last reading while it is younger than SLUICE_HEALTH_CACHE_MS, and callers arriving
 * while a reading is under way wait for that one, so an instance sends at most one query per window
 * however hard it is called. A caller with a secret gets a reading of its own (or the one under way).
 * A reading is one statement (queries-stats.ts), whose cost does not grow with the table.
 */
class HealthReadings {
  private last: { at: number; stats: QueueStats | null } | undefined;
  private underWay: Promise<QueueStats | null> | undefined;
  private alertsCheckedAt = -Infinity;

  constructor(private readonly sluice: RouteHost) {}

  /** The last reading if younger than `maxAgeMs`, else a new one (null: the database did not answer). */
  read(maxAgeMs: number, runtime: WakeRuntime): Promise<QueueStats | null> {
    if (this.underWay) return this.underWay;
    if (this.last && Date.now() - this.last.at < maxAgeMs) return Promise.resolve(this.last.stats);
    this.underWay = this.load(runtime)
      .then((stats) => {
        // Failures too: a database that is down is not asked again by every caller.
        this.last = { at: Date.now(), stats };
        return stats;
      })
      .finally(() => (this.underWay = undefined));
    return this.underWay;
  }

  private async load(runtime: WakeRuntime): Promise<QueueStats | null> {
    const { sluice } = this;
    try {
      const s = sluice.settings();
      const thresholds = alertThresholds(s);
      // With alerts on, an uptime monitor's visit checks them too: a cron that stopped altogether runs no
      // tick to say so. The check is this reading's statement itself; it sends only on a change (its
      // upsert is the compare-and-set), never a storm.
      if (!thresholds || Date.now() - this.alertsCheckedAt < ALERT_CHECK_EVERY_MS) return await sluice.stats();
      this.alertsCheckedAt = Date.now();
      const { alerts, ...result } = await alertsCheck(sluice.db, sluice.scope(), thresholds, STATS_LIVE_LIMIT);
      const app = sluice.scope().app;
      runtime.waitUntil(announce(sluice.db, app, s, alerts).catch((error) => log.error('health: alert check failed', { error })));
      return toQueueStats(result);
    } catch (error) {
      log.error('health: database check failed', { error });
      return null;
    }
  }
}

const readings = new WeakMap<RouteHost, HealthReadings>();

/**
 * Whether the caller holds one of `secrets`. A wrong one is answered as a caller without a secret and is
 * not counted in the throttle: counting is a write, and an anonymous flood of /api/health must cost no
 * more than one query a window. A throttled address holding the right one, or a database that cannot
 * say, gets the short answer too: health never answers 429.
 */
async function secretHeld(c: Context<SluiceEnv>, secrets: (string | undefined)[]): Promise<boolean> {
  const right = secrets.some((v) => v !== undefined && bearerAttempt(c.req.header('authorization'), v) === 'right');
  if (!right) return false;
  return !(await throttle(c, 'right').catch(() => true));
}

/**
 * GET /api/health: 200, or 503 when jobs wait too long, too many are dead, drains have stopped (the
 * dead-man switch) or the database is down. A caller without a secret sees only { ok } and the status,
 * from a reading at most SLUICE_HEALTH_CACHE_MS old; one sending HEALTH_SECRET or ADMIN_SECRET gets a
 * fresh reading with the counts and the problems in words (never a payload).
 */
export const health: HttpHandler = async (c) => {
  const { sluice } = c.var;
  const s = sluice.settings();
  const detailed = await secretHeld(c, [s.HEALTH_SECRET, s.ADMIN_SECRET]);
  let source = readings.get(sluice);
  if (!source) readings.set(sluice, (source = new HealthReadings(sluice)));
  const stats = await source.read(detailed ? 0 : s.SLUICE_HEALTH_CACHE_MS, resolveRuntime(s, c.env ?? {}, c.req.url));
  if (!stats) return c.json(detailed ? { ok: false, problems: ['database unreachable'] } : { ok: false }, 503);
  const problems = healthProblems(stats, s);
  const ok = problems.length === 0;
  if (!detailed) return c.json({ ok }, ok ? 200 : 503);
  const { pending, running, dead, oldestPendingAgeMs, lastDrainAgeMs, exact, sampledAt } = stats;
  return c.json({ ok, problems, pending, running, dead, oldestPendingAgeMs, lastDrainAgeMs, exact, sampledAt }, ok ? 200 : 503);
};
