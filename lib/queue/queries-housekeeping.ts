/**
 * The cron tick's housekeeping (issue 12; see queries.ts for the rules), at most once a minute: a sample
 * of the whole queue's depth, retention (history, samples, dead jobs), and the alert conditions' state. It
 * rides as CTEs on the tick's first claim, so an empty tick is still one statement; a `due` guard (no
 * sample yet this minute) makes every tick after the first in a minute skip it all.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from './db.js';
import { notPaused, rows } from './queries.js';

export const ALERT_NAMES = ['dead', 'oldest_pending', 'drains_stale'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface AlertThresholds {
  deadMax: number;
  oldestPendingMs: number;
  drainStaleMs: number;
  /** A condition that holds is announced again at most this often. */
  repeatMs: number;
}

export interface HousekeepingParams {
  historyRetentionMs: number;
  deadRetentionMs: number;
  /** Rows deleted at most, of each kind, per minute. */
  pruneBatch: number;
  /** When alerts are on: the conditions' state is kept in sluice.alerts, changes come back. */
  alerts: AlertThresholds | null;
}

/** The whole queue at the sample (paused types left out of due and oldest). */
export interface QueueTotals {
  pending: number;
  due: number;
  running: number;
  dead: number;
  oldest_due_ms: number;
  /** null: no drain has ended well yet. */
  last_drain_age_ms: number | null;
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

export interface HousekeepingReport {
  /** This statement took the minute's sample (false: another tick already had). */
  sampled: boolean;
  totals: QueueTotals | null;
  pruned: { dead: number; history: number; samples: number; stamped: number };
  alerts: AlertChange[];
}

const ms = (n: number) => sql`${n}::float8 * interval '1 millisecond'`;

/**
 * The queue's totals (hk_total), when `hk_due` says so. Each count walks its status' partial index
 * (jobs_claim_idx, jobs_rescue_idx, jobs_dead_idx), so a million dead jobs cost an index-only count,
 * not a scan of the table; the due figures leave paused types out, as /api/health does.
 */
const totalsCtes = sql`hk_total as (
      select (select count(*) from sluice.jobs where status = 'pending')::int as pending,
             (select count(*) from sluice.jobs where status = 'pending' and run_after <= now() and ${notPaused})::int as due,
             (select count(*) from sluice.jobs where status = 'running')::int as running,
             (select count(*) from sluice.jobs where status = 'dead')::int as dead,
             coalesce((select extract(epoch from now() - min(run_after)) * 1000 from sluice.jobs
                       where status = 'pending' and run_after <= now() and ${notPaused}), 0)::float8 as oldest_due_ms,
             (select (extract(epoch from now() - last_drain_ok_at) * 1000)::float8 from sluice.queue_state where id = 1) as last_drain_age_ms
      where (select due from hk_due)
    )`;

/** The conditions' state, recorded; a row comes back for each whose message is due (see AlertChange). */
const alertCtes = (a: AlertThresholds) => sql`hk_conditions as (
      select c.name, c.active, c.value from hk_total t, lateral (values
        ('dead', t.dead > ${a.deadMax}::int, t.dead::float8),
        ('oldest_pending', t.oldest_due_ms > ${a.oldestPendingMs}::float8, t.oldest_due_ms),
        ('drains_stale', t.oldest_due_ms > ${a.drainStaleMs}::float8 and coalesce(t.last_drain_age_ms > ${a.drainStaleMs}::float8, true),
         coalesce(t.last_drain_age_ms, -1))
      ) c(name, active, value)
    ),
    -- The state before this statement: a message that failed last time is the same message again.
    hk_unsent as (select name from sluice.alerts where sent_at is null),
    -- The compare-and-set: of ticks checking at once, the one whose upsert changes the row sends.
    hk_alerts as (
      insert into sluice.alerts as a (name, active, detail, changed_at, sent_at)
      select name, active, value::text, now(), now() from hk_conditions
      on conflict (name) do update set
        active = excluded.active, detail = excluded.detail, sent_at = now(),
        changed_at = case when a.active <> excluded.active then now() else a.changed_at end
      where a.active <> excluded.active or a.sent_at is null
         or (excluded.active and a.sent_at < now() - ${ms(a.repeatMs)})
      returning a.name, a.active, a.detail::float8 as value, a.changed_at = now() as changed, a.xmax = 0 as fresh,
                a.name in (select name from hk_unsent) as resend
    )`;

/** The housekeeping CTEs, to follow a claim's (each name starts hk_). */
export function housekeepingCtes(p: HousekeepingParams): SQL {
  const bounded = (table: string, where: SQL, order: string) => sql`delete from ${sql.raw(table)} where (minute, type) in (
        select minute, type from ${sql.raw(table)} where ${where} and (select due from hk_due) order by ${sql.raw(order)} limit ${p.pruneBatch})
        returning 1`;
  return sql`hk_due as (
      select not exists (select 1 from sluice.queue_samples where minute = date_trunc('minute', now()) and type = '') as due
    ),
    ${totalsCtes},
    hk_sample as (
      insert into sluice.queue_samples (minute, type, pending, due, running, dead, oldest_due_ms)
      select date_trunc('minute', now()), '', pending, due, running, dead, oldest_due_ms from hk_total
      on conflict do nothing
      returning type
    ),
    -- Dead rows written by an older deployment during a deploy have no dead_at: their time starts now.
    hk_stamped as (
      update sluice.jobs set dead_at = now() where id = any(array(
        select id from sluice.jobs where status = 'dead' and dead_at is null and (select due from hk_due) limit ${p.pruneBatch}))
      returning id
    ),
    hk_dead_pruned as (
      delete from sluice.jobs where id = any(array(
        select id from sluice.jobs where status = 'dead' and dead_at < now() - ${ms(p.deadRetentionMs)} and (select due from hk_due)
        order by dead_at limit ${p.pruneBatch}))
      returning id
    ),
    hk_history_pruned as (${bounded('sluice.job_history', sql`minute < now() - ${ms(p.historyRetentionMs)}`, 'minute')}),
    hk_samples_pruned as (${bounded('sluice.queue_samples', sql`minute < now() - ${ms(p.historyRetentionMs)}`, 'minute')})${
      p.alerts ? sql`, ${alertCtes(p.alerts)}` : sql``}`;
}

/** The report, as the output column `housekeeping` of the statement carrying housekeepingCtes. */
export function housekeepingOutput(p: HousekeepingParams): SQL {
  return sql`json_build_object(
      'sampled', exists (select 1 from hk_sample where type = ''),
      'totals', (select row_to_json(t) from hk_total t),
      'pruned', json_build_object('dead', (select count(*) from hk_dead_pruned), 'history', (select count(*) from hk_history_pruned),
                                  'samples', (select count(*) from hk_samples_pruned), 'stamped', (select count(*) from hk_stamped)),
      'alerts', ${p.alerts ? sql`coalesce((select json_agg(a) from hk_alerts a), '[]')` : sql`'[]'::json`}
    ) as housekeeping`;
}

/**
 * The alert check on its own (GET /api/health runs it when alerts are on, so a cron that stopped
 * altogether is still announced): the conditions now, recorded, the changes back.
 */
export async function alertsCheck(db: Db, a: AlertThresholds): Promise<{ totals: QueueTotals; alerts: AlertChange[] }> {
  const [result] = await rows<{ totals: QueueTotals; alerts: AlertChange[] }>(
    db,
    sql`with hk_due as (select true as due), ${totalsCtes}, ${alertCtes(a)}
        select (select row_to_json(t) from hk_total t) as totals, coalesce((select json_agg(x) from hk_alerts x), '[]') as alerts`,
  );
  return result!;
}

/** A message that could not be sent: the next check sends it again. */
export async function alertUnsent(db: Db, name: AlertName): Promise<void> {
  await rows(db, sql`update sluice.alerts set sent_at = null where name = ${name}`);
}
