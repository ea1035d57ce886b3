/**
 * Durable steps' durations (queries.ts states the rules): `sluice.step_timings` keeps, per job type and
 * step name, the last STEP_TIMINGS_WINDOW runs' ms. A finished step's duration rides on the statement
 * that records the step (stepSave, queries-steps.ts), so timing a step costs no statement of its own;
 * a drain pass reads a type's estimates once (stepEstimatesOfType); a cron tick bounds the table.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

/** Runs of a step name kept: its estimate is a percentile of these (newer runs push older ones out). */
export const STEP_TIMINGS_WINDOW = 20;
/** Step names kept per job type, the most recently run ones: names made in a loop (`page-${n}`) stay bounded. */
export const STEP_TIMINGS_PER_TYPE = 1_000;
/** A step name not run for this long is forgotten (its type renamed or dropped it). */
export const STEP_TIMINGS_RETENTION_DAYS = 30;

/** A finished step's duration, recorded with the step (only when the step is). */
export interface StepTiming {
  type: string;
  ms: number;
}

/**
 * CTEs appending `timing` to its (type, step) row once `saved` (a CTE of the same statement) returned a
 * row. A row another statement holds locked is skipped rather than waited for: a type whose jobs run one
 * step name many times a second would otherwise queue every step behind one row, and a lost sample
 * changes nothing an estimate of twenty runs says. Its first run inserts the row.
 */
export function stepTimingCtes(step: string, timing: StepTiming) {
  const ms = Math.min(Math.max(0, Math.round(timing.ms)), 2 ** 31 - 1);
  return sql`timed as (
      update sluice.step_timings t
      set durations_ms = (t.durations_ms || ${ms}::int)[greatest(1, cardinality(t.durations_ms) + 2 - ${STEP_TIMINGS_WINDOW}::int):],
          updated_at = now()
      where t.ctid = (select x.ctid from sluice.step_timings x
                      where x.type = ${timing.type} and x.step = ${step} and exists (select 1 from saved)
                      for update skip locked)
      returning 1
    ),
    first_timed as (
      insert into sluice.step_timings (type, step, durations_ms)
      select ${timing.type}, ${step}, array[${ms}::int]
      where exists (select 1 from saved) and not exists (select 1 from sluice.step_timings where type = ${timing.type} and step = ${step})
      on conflict (type, step) do nothing
      returning 1
    )`;
}

export interface StepEstimate {
  step: string;
  /** The percentile asked for of the kept runs' ms. */
  estimate_ms: number;
  /** How many runs it is of (at most STEP_TIMINGS_WINDOW). */
  runs: number;
}

/** A type's step names with a percentile (0-1) of their kept durations: a pass asks once per type. */
export async function stepEstimatesOfType(db: Db, type: string, percentile: number): Promise<StepEstimate[]> {
  return rows<StepEstimate>(
    db,
    sql`select t.step, percentile_disc(${percentile}::float8) within group (order by d.ms)::float8 as estimate_ms, count(*)::int as runs
        from sluice.step_timings t, unnest(t.durations_ms) as d(ms)
        where t.type = ${type}
        group by t.step`,
  );
}

/**
 * Forgets step names beyond the STEP_TIMINGS_PER_TYPE most recently run of their type, and those not
 * run for STEP_TIMINGS_RETENTION_DAYS. At most `limit` rows; a cron tick that ran jobs sends it.
 */
export async function stepTimingsPrune(db: Db, limit: number): Promise<number> {
  const [result] = await rows<{ n: number }>(
    db,
    sql`with gone as (
          delete from sluice.step_timings s where s.ctid = any(array(
            select x.ctid from (
              select ctid, updated_at, row_number() over (partition by type order by updated_at desc) as place
              from sluice.step_timings) x
            where x.place > ${STEP_TIMINGS_PER_TYPE}::int or x.updated_at < now() - make_interval(days => ${STEP_TIMINGS_RETENTION_DAYS}::int)
            limit ${limit}))
          returning 1)
        select count(*)::int as n from gone`,
  );
  return result!.n;
}
