/**
 * The cron tick's housekeeping (issue 12; see queries.ts for the rules), at most once a minute per app: a
 * sample of the app's queue depth, per type and in all, retention (history, samples, dead, completed and
 * cancelled jobs), and the
 * alert conditions' state. Everything is of the app's own types (lib/queue/app.ts): another app's jobs are
 * neither counted, alerted on nor pruned. It rides as CTEs on the tick's first claim, so an empty tick is
 * still one statement; a `due` guard (no sample of the app yet this minute) makes every tick after the
 * first in a minute skip it all. The alert conditions' CTEs are queries-alerts.ts'.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { AppScope } from '../app.js';
import { DEFAULT_SETTINGS } from '../config.js';
import { alertCtes, type AlertChange, type AlertThresholds } from './queries-alerts.js';
import { prunableAfterMs, runsPastRetentionCte } from './queries-retention.js';
import { oldestDue, pendingCount, perType } from './queries-stats.js';

export interface HousekeepingParams {
  /** The app whose queue this is. */
  scope: AppScope;
  historyRetentionMs: number;
  deadRetentionMs: number;
  /** How long cancelled jobs are kept. Default: SLUICE_RESULT_RETENTION's default (7 days). */
  resultRetentionMs?: number;
  /** How long completed runs are kept (pruned apart: queries-retention.ts; the report says whether any is due). Default: SLUICE_COMPLETED_RETENTION's default (7 days). */
  completedRetentionMs?: number;
  /** How long sent events are kept (sluice.sendEvent). Default: SLUICE_EVENT_RETENTION's default (7 days). */
  eventRetentionMs?: number;
  /** Rows deleted at most, of each kind, per minute. */
  pruneBatch: number;
  /** When alerts are on: the conditions' state is kept in sluice.app_alerts, changes come back. */
  alerts: AlertThresholds | null;
}

/** The app's queue at the sample (paused types left out of due and oldest). */
export interface QueueTotals {
  pending: number;
  due: number;
  running: number;
  dead: number;
  oldest_due_ms: number;
  /** null: no drain has ended well yet. */
  last_drain_age_ms: number | null;
}

export interface HousekeepingReport {
  /** This statement took the minute's sample (false: another tick already had). */
  sampled: boolean;
  totals: QueueTotals | null;
  pruned: { dead: number; ended: number; history: number; samples: number; stamped: number; events: number };
  /** Waiting jobs whose wait's deadline passed, made due (their handler then sees the timeout). */
  waitsDue: number;
  /** The app has completed runs past retention: the tick prunes them after its drain (queries-retention.ts). */
  runsPastRetention: boolean;
  alerts: AlertChange[];
}

/**
 * The app's exact counts per type (hk_by_type) and in all (hk_total), when `hk_due` says so. Each walks
 * its type's entries of an index that leads with the type (jobs_claim_idx, jobs_dead_type_idx, in the
 * order only those give: queries-stats.ts; running rows are few), so it grows with the app's backlog, never with
 * other apps' rows; the due figures leave paused types out, as /api/health does.
 */
const totalsCtes = (scope: AppScope) => sql`hk_running as (
      select type, count(*)::int as running from sluice.jobs
      where status = 'running' and type = any(${sql.param(scope.types)}::text[]) and (select due from hk_due) group by type
    ),
    hk_counts as materialized (
      select v.*, v.type in (select type from sluice.paused_types) as paused from ${perType(scope.types, ['pending', 'due', 'dead', 'oldest_due_ms'], (type) => [
        pendingCount(type, null),
        pendingCount(type, null, true),
        sql`(select count(*) from (select 1 from sluice.jobs j where j.status = 'dead' and j.type = ${type} order by j.dead_at nulls first) x)::int`,
        oldestDue(type),
      ])}
      where (select due from hk_due)
    ),
    hk_by_type as (
      select c.type, c.paused, c.pending, case when c.paused then 0 else c.due end as due, coalesce(r.running, 0) as running, c.dead,
             case when c.paused then 0 else c.oldest_due_ms end as oldest_due_ms
      from hk_counts c left join hk_running r on r.type = c.type
    ),
    hk_total as (
      select coalesce(sum(pending), 0)::int as pending, coalesce(sum(due), 0)::int as due, coalesce(sum(running), 0)::int as running,
             coalesce(sum(dead), 0)::int as dead, coalesce(max(oldest_due_ms), 0)::float8 as oldest_due_ms,
             (select date_part('epoch', now() - last_drain_ok_at) * 1000 from sluice.apps where app = ${scope.app})::float8 as last_drain_age_ms
      from hk_by_type having (select due from hk_due)
    )`;

/** The housekeeping CTEs, to follow a claim's (each name starts hk_). */
export function housekeepingCtes(p: HousekeepingParams): SQL {
  const { app, types } = p.scope;
  const due = sql`(select due from hk_due)`;
  // Dead jobs of the app, a batch taken type by type along jobs_dead_type_idx (oldest death first).
  const deadIds = (where: SQL) => sql`array(select x.id from unnest(${sql.param(types)}::text[]) t(type), lateral (
        select j.id from sluice.jobs j where j.status = 'dead' and j.type = t.type and ${where} and ${due}
        order by j.dead_at nulls first limit ${p.pruneBatch}) x limit ${p.pruneBatch})`;
  const cutoff = (ms: number) => sql`now() - ${ms}::float8 * interval '1 millisecond'`;
  const resultRetentionMs = p.resultRetentionMs ?? DEFAULT_SETTINGS.SLUICE_RESULT_RETENTION;
  const eventRetentionMs = p.eventRetentionMs ?? DEFAULT_SETTINGS.SLUICE_EVENT_RETENTION;
  return sql`hk_due as (
      select not exists (select 1 from sluice.queue_samples where app = ${app} and minute = date_trunc('minute', now()) and type = '') as due
    ),
    ${totalsCtes(p.scope)},
    hk_sample as (
      insert into sluice.queue_samples (app, minute, type, pending, due, running, dead, oldest_due_ms)
      select ${app}, date_trunc('minute', now()), type, pending, due, running, dead, oldest_due_ms from hk_by_type
      union all
      select ${app}, date_trunc('minute', now()), '', pending, due, running, dead, oldest_due_ms from hk_total
      on conflict do nothing
      returning type
    ),
    -- Dead rows written by an older deployment during a deploy have no dead_at: their time starts now.
    hk_stamped as (
      update sluice.jobs set dead_at = now() where id = any(${deadIds(sql`j.dead_at is null`)})
      returning id
    ),
    hk_dead_pruned as (
      delete from sluice.jobs where id = any(${deadIds(sql`j.dead_at < ${cutoff(p.deadRetentionMs)}`)})
      returning id
    ),
    -- Cancelled jobs of the app past their retention, a batch taken type by type along jobs_cancelled_idx
    -- (oldest first). Completed ones, many more, are pruned in statements of their own (queries-retention.ts).
    hk_ended_pruned as (
      delete from sluice.jobs where id = any(array(
        select x.id from unnest(${sql.param(types)}::text[]) t(type), lateral (
          select j.id from sluice.jobs j where j.status = 'cancelled' and j.type = t.type and j.cancelled_at < ${cutoff(resultRetentionMs)} and ${due}
          order by j.cancelled_at limit ${p.pruneBatch}) x limit ${p.pruneBatch}))
      returning id
    ),
    ${runsPastRetentionCte(types, prunableAfterMs(p.completedRetentionMs ?? DEFAULT_SETTINGS.SLUICE_COMPLETED_RETENTION, resultRetentionMs), due)},
    -- The pruned jobs' steps go with them (kept jobs keep theirs: a replay from a step copies them).
    hk_steps_pruned as (
      delete from sluice.job_steps s where s.job_id in (select id from hk_dead_pruned union all select id from hk_ended_pruned)
      returning 1
    ),
    -- The app's waiting jobs whose deadline (a waitForEvent's timeout) passed: due now. A batch taken
    -- type by type along jobs_waiting_idx, oldest deadline first.
    hk_waits_due as (
      update sluice.jobs set status = 'pending', wait_for = null where id = any(array(
        select x.id from unnest(${sql.param(types)}::text[]) t(type), lateral (
          select j.id from sluice.jobs j where j.status = 'waiting' and j.type = t.type and j.run_after <= now() and ${due}
          order by j.run_after limit ${p.pruneBatch} for update skip locked) x limit ${p.pruneBatch}))
      returning id
    ),
    -- Events past their retention (every app's: events are not any one app's), oldest first.
    hk_events_pruned as (
      delete from sluice.events where id = any(array(
        select id from sluice.events where sent_at < ${cutoff(eventRetentionMs)} and ${due} order by sent_at limit ${p.pruneBatch}))
      returning 1
    ),
    -- The history of the app's types; samples of the app, and those from before apps were told apart.
    hk_history_pruned as (
      delete from sluice.job_history where (minute, type) in (
        select minute, type from sluice.job_history
        where type = any(${sql.param(types)}::text[]) and minute < ${cutoff(p.historyRetentionMs)} and ${due}
        order by minute limit ${p.pruneBatch})
      returning 1
    ),
    hk_samples_pruned as (
      delete from sluice.queue_samples where (app, minute, type) in (
        select app, minute, type from sluice.queue_samples
        where app in (${app}, '') and minute < ${cutoff(p.historyRetentionMs)} and ${due}
        order by minute limit ${p.pruneBatch})
      returning 1
    )${p.alerts ? sql`, ${alertCtes(app, p.alerts, 'hk_total')}` : sql``}`;
}

/** The report, as the output column `housekeeping` of the statement carrying housekeepingCtes. */
export function housekeepingOutput(p: HousekeepingParams): SQL {
  return sql`json_build_object(
      'sampled', exists (select 1 from hk_sample where type = ''),
      'totals', (select row_to_json(t) from hk_total t),
      'pruned', json_build_object('dead', (select count(*) from hk_dead_pruned), 'ended', (select count(*) from hk_ended_pruned), 'history', (select count(*) from hk_history_pruned),
                                  'samples', (select count(*) from hk_samples_pruned), 'stamped', (select count(*) from hk_stamped),
                                  'events', (select count(*) from hk_events_pruned)),
      'waitsDue', (select count(*) from hk_waits_due),
      'runsPastRetention', (select past from hk_runs_past),
      'alerts', ${p.alerts ? sql`coalesce((select json_agg(a) from hk_alerts a), '[]')` : sql`'[]'::json`}
    ) as housekeeping`;
}

