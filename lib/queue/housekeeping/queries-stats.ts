/**
 * An app's stats in one statement whose cost does not grow with the table (see queries.ts for the
 * rules). Everything is looked up per type of the app, on indexes that lead with the type, so rows of
 * other apps' types are never walked:
 * - pending and dead counts are counted live up to `liveLimit` entries of jobs_claim_idx and
 *   jobs_dead_type_idx; a larger one is the app's latest minute sample's (the cron tick counts exactly,
 *   once a minute: queries-housekeeping.ts), when that is larger still;
 * - running jobs are counted live (there are never more than the drains hold);
 * - the oldest due job of a type: one probe of jobs_claim_idx per priority its pending jobs use
 *   (oldestDue).
 * An exact count of a status is a walk of all its rows, whatever the index; this is what makes a
 * million dead jobs cost what a thousand do.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { AppScope } from '../app.js';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

export interface StatsTypeRow {
  type: string;
  pending: number;
  running: number;
  dead: number;
  /** ms since the oldest due pending job became due; 0 when none is due. */
  oldest_due_ms: number;
  paused: boolean;
  /** A count went past the live limit and is the sample's. */
  sampled: boolean;
}

export interface StatsResult {
  types: StatsTypeRow[];
  /** The minute of the app's latest sample (epoch ms), if any. */
  sampled_at_ms: number | null;
  /** ms since a drain of the app last ended well; null when none has. */
  last_drain_age_ms: number | null;
}

/** Most priorities of one type that oldestDue looks at: past them, the oldest of the highest ones. */
const OLDEST_DUE_PRIORITIES = 32;

/**
 * ms since the oldest due pending job of `type` became due (0: none due), read from jobs_claim_idx
 * (type, priority desc, run_after): the type's priorities are found by skipping along it, and within
 * each the first due entry is the oldest. One probe per priority, so no index of its own is needed
 * (every pending job would pay for one at enqueue).
 */
export const oldestDue = (type: SQL) => sql`coalesce((with recursive p(priority, n) as (
          (select priority, 1 from sluice.jobs where status = 'pending' and type = ${type} order by priority desc nulls last limit 1)
          union all
          select (select priority from sluice.jobs where status = 'pending' and type = ${type} and priority < p.priority
                  order by priority desc nulls last limit 1), p.n + 1
          from p where p.priority is not null and p.n < ${OLDEST_DUE_PRIORITIES}
        )
        select max(greatest(0, date_part('epoch', now() - (
          select j.run_after from sluice.jobs j where j.status = 'pending' and j.type = ${type} and j.priority = p.priority
            and j.run_after <= now() order by j.run_after limit 1)) * 1000)) from p where p.priority is not null), 0)::float8`;

/** Pending jobs of `type`, counted along jobs_claim_idx up to `limit` (all: null). */
export const pendingCount = (type: SQL, limit: number | null, due = false) => sql`(select count(*) from (select 1 from sluice.jobs j
          where j.status = 'pending' and j.type = ${type}${due ? sql` and j.run_after <= now()` : sql``}
          order by j.priority desc nulls last, j.run_after${limit === null ? sql`` : sql` limit ${limit}`}) x)::int`;

/**
 * A row per type (`type` and `columns`), each figure a subquery of its own with the type's name as a
 * parameter, not a column of a join: the planner then plans it for that type's statistics. (A lateral
 * join over the types plans one subquery for any type: a type of a few rows beside another app's
 * million could get a walk of the million.)
 */
export function perType(types: string[], columns: string[], figures: (type: SQL) => SQL[]): SQL {
  const names = sql.raw(['type', ...columns].join(', '));
  if (types.length === 0) return sql`(select ${sql.join([sql`null::text`, ...columns.map(() => sql`null`)], sql`, `)} where false) v(${names})`;
  const rows = types.map((t) => sql`(${sql.join([sql`${t}::text`, ...figures(sql`${t}::text`)], sql`, `)})`);
  return sql`(values ${sql.join(rows, sql`, `)}) v(${names})`;
}

/**
 * The CTEs (names st_) that work the figures out: st_by_type, a row per type of the app, and st_total,
 * one row for the app (types paused left out of oldest_due_ms), which the alert check reads too.
 */
export function statsCtes(scope: AppScope, liveLimit: number) {
  const over = liveLimit + 1;
  // Past the live limit the sample's count, if larger: a backlog counted a minute ago, or at least this many.
  const resolved = (status: 'pending' | 'dead') =>
    sql`case when l.${sql.raw(status)} > ${liveLimit}::int then greatest(l.${sql.raw(status)}, coalesce(s.${sql.raw(status)}, 0)) else l.${sql.raw(status)} end`;
  return sql`st_sampled as (
      select max(minute) as minute from sluice.queue_samples where app = ${scope.app} and type = ''
    ),
    st_running as (
      select type, count(*)::int as running from sluice.jobs
      where status = 'running' and type = any(${sql.param(scope.types)}::text[]) group by type
    ),
    -- Materialized: each figure is read several times below, and must be counted once. Each ORDER BY is one
    -- only the type's index gives (schema.ts), so the walk is of that index and stops at the limit.
    st_live as materialized (
      select v.*, v.type in (select type from sluice.paused_types) as paused from ${perType(scope.types, ['pending', 'dead', 'oldest_due_ms'], (type) => [
        pendingCount(type, over),
        sql`(select count(*) from (select 1 from sluice.jobs j where j.status = 'dead' and j.type = ${type}
              order by j.dead_at nulls first limit ${over}) x)::int`,
        oldestDue(type),
      ])}
    ),
    st_by_type as (
      select l.type, l.paused, ${resolved('pending')} as pending, coalesce(r.running, 0) as running, ${resolved('dead')} as dead,
             l.oldest_due_ms, l.pending > ${liveLimit}::int or l.dead > ${liveLimit}::int as sampled
      from st_live l
      left join st_running r on r.type = l.type
      left join sluice.queue_samples s on s.app = ${scope.app} and s.minute = (select minute from st_sampled) and s.type = l.type
    ),
    st_total as (
      select coalesce(sum(pending), 0)::int as pending, coalesce(sum(running), 0)::int as running, coalesce(sum(dead), 0)::int as dead,
             coalesce(max(oldest_due_ms) filter (where not paused), 0)::float8 as oldest_due_ms,
             (select date_part('epoch', now() - last_drain_ok_at) * 1000 from sluice.apps where app = ${scope.app})::float8 as last_drain_age_ms
      from st_by_type
    )`;
}

/** The output columns of a statement carrying statsCtes: a StatsResult. */
export const statsOutput = sql`coalesce((select json_agg(b order by b.type) from st_by_type b), '[]') as types,
    (select date_part('epoch', minute) * 1000 from st_sampled)::float8 as sampled_at_ms,
    (select last_drain_age_ms from st_total) as last_drain_age_ms`;

/** The app's stats (see the top of this file). */
export async function appStats(db: Db, scope: AppScope, liveLimit: number): Promise<StatsResult> {
  const [result] = await rows<StatsResult>(db, appStatsSql(scope, liveLimit));
  return result!;
}

/** The statement itself: appStats sends it; a test EXPLAINs it, so it never walks other types' rows. */
export const appStatsSql = (scope: AppScope, liveLimit: number): SQL => sql`with ${statsCtes(scope, liveLimit)} select ${statsOutput}`;
