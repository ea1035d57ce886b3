/**
 * The alert conditions' statements (see queries.ts for the rules): each app's three conditions,
 * recorded in sluice.app_alerts, where the upsert that changes one is the compare-and-set that lets one
 * check of many send its message. The cron tick's housekeeping carries them (queries-housekeeping.ts),
 * and /api/health runs them alone.
 */
import { sql } from 'drizzle-orm';
import type { AppScope } from '../app.js';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import { statsCtes, statsOutput, type StatsResult } from './queries-stats.js';

export const ALERT_NAMES = ['dead', 'oldest_pending', 'drains_stale'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface AlertThresholds {
  deadMax: number;
  oldestPendingMs: number;
  drainStaleMs: number;
  /** A condition that holds is announced again at most this often. */
  repeatMs: number;
}

/** A condition whose message is due: it started, cleared, or holds past its reminder time. */
export interface AlertChange {
  name: AlertName;
  active: boolean;
  /** The measure: dead jobs, the oldest due job's wait (ms), the last good drain's age (ms; -1: never). */
  value: number;
  /** Its state changed with this check (false and active: a reminder, or a message that failed before). */
  changed: boolean;
  /** First check ever of this condition. */
  fresh: boolean;
  /** The last message about it could not be sent: this is that message again. */
  resend: boolean;
}

const ms = (n: number) => sql`${n}::float8 * interval '1 millisecond'`;

/**
 * The app's conditions' state, recorded; a row comes back for each whose message is due (see
 * AlertChange). `totals` names the CTE the figures come from: hk_total (the tick's exact counts) or
 * st_total (the cheap ones of queries-stats.ts, for /api/health).
 */
export const alertCtes = (app: string, a: AlertThresholds, totals: 'hk_total' | 'st_total') => sql`hk_conditions as (
      select c.name, c.active, c.value from ${sql.raw(totals)} t, lateral (values
        ('dead', t.dead > ${a.deadMax}::int, t.dead::float8),
        ('oldest_pending', t.oldest_due_ms > ${a.oldestPendingMs}::float8, t.oldest_due_ms),
        ('drains_stale', t.oldest_due_ms > ${a.drainStaleMs}::float8 and coalesce(t.last_drain_age_ms > ${a.drainStaleMs}::float8, true),
         coalesce(t.last_drain_age_ms, -1))
      ) c(name, active, value)
    ),
    -- The state before this statement: a message that failed last time is the same message again.
    hk_unsent as (select name from sluice.app_alerts where app = ${app} and sent_at is null),
    -- The compare-and-set: of ticks checking at once, the one whose upsert changes the row sends.
    hk_alerts as (
      insert into sluice.app_alerts as a (app, name, active, detail, changed_at, sent_at)
      select ${app}, name, active, value::text, now(), now() from hk_conditions
      on conflict (app, name) do update set
        active = excluded.active, detail = excluded.detail, sent_at = now(),
        changed_at = case when a.active <> excluded.active then now() else a.changed_at end
      where a.active <> excluded.active or a.sent_at is null
         or (excluded.active and a.sent_at < now() - ${ms(a.repeatMs)})
      returning a.name, a.active, a.detail::float8 as value, a.changed_at = now() as changed, a.xmax = 0 as fresh,
                a.name in (select name from hk_unsent) as resend
    )`;

/**
 * The alert check on its own (GET /api/health runs it when alerts are on, so a cron that stopped
 * altogether is still announced): the app's stats now, from the cheap figures stats use (queries-stats.ts),
 * the conditions recorded, the changes back.
 */
export async function alertsCheck(db: Db, scope: AppScope, a: AlertThresholds, liveLimit: number): Promise<StatsResult & { alerts: AlertChange[] }> {
  const [result] = await rows<StatsResult & { alerts: AlertChange[] }>(
    db,
    sql`with ${statsCtes(scope, liveLimit)}, ${alertCtes(scope.app, a, 'st_total')}
        select ${statsOutput}, coalesce((select json_agg(x) from hk_alerts x), '[]') as alerts`,
  );
  return result!;
}

/** A message that could not be sent: the next check sends it again. */
export async function alertUnsent(db: Db, app: string, name: AlertName): Promise<void> {
  await rows(db, sql`update sluice.app_alerts set sent_at = null where app = ${app} and name = ${name}`);
}
