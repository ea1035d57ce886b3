/**
 * The run history's retention (see ../queries.ts for the rules): completed runs past
 * SLUICE_COMPLETED_RETENTION (those with a result, or awaited, past SLUICE_RESULT_RETENTION too), deleted
 * with their steps. A statement of its own, not part of a claim: at a busy queue's rate it deletes many
 * rows a minute, and only completed rows, which no claim reads or locks, so it never holds one up.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

export interface CompletedPruneParams {
  /** The app's types: another app's runs are its own to prune. */
  types: string[];
  completedRetentionMs: number;
  resultRetentionMs: number;
  /** Rows deleted at most. */
  limit: number;
}

/** The age from which a completed run may be pruned: the completed retention when runs without a result
 *  go sooner than those with one, else the longer of the two (0: none is kept, only results). */
export const prunableAfterMs = (completed: number, result: number) => (completed > 0 && completed < result ? completed : Math.max(completed, result));

/**
 * Whether the app has a completed run old enough to prune (the tick's housekeeping asks, so that an idle
 * tick sends the prune's statement only when it has work): the oldest run of each type, along jobs_completed_idx.
 */
export const runsPastRetentionCte = (types: string[], afterMs: number, due: SQL) => sql`hk_runs_past as (
      select ${due} and exists (select 1 from unnest(${sql.param(types)}::text[]) t(type), lateral (
        select 1 from sluice.jobs j where j.status = 'completed' and j.type = t.type
          and j.completed_at < now() - ${afterMs}::float8 * interval '1 millisecond' limit 1) x) as past
    )`;

/** Deletes up to `limit` of the app's oldest completed runs past retention, type by type along jobs_completed_idx; how many. */
export async function completedPrune(db: Db, p: CompletedPruneParams): Promise<number> {
  const cutoff = (ms: number) => sql`now() - ${ms}::float8 * interval '1 millisecond'`;
  const oldest = (where: SQL) => sql`(select j.id from sluice.jobs j where j.status = 'completed' and j.type = t.type and ${where}
                                       order by j.completed_at limit ${p.limit})`;
  // Past both retentions: a range of the index, oldest first. Only when runs without a result go sooner
  // than those with one, the runs between the two times, without a result (the walk passes over those
  // with one: a window of the result retention's, not the table).
  const { completedRetentionMs: completed, resultRetentionMs: result } = p;
  const after = prunableAfterMs(completed, result);
  const branches = after < result
    ? sql`${oldest(sql`j.completed_at < ${cutoff(result)}`)} union all
          ${oldest(sql`j.completed_at >= ${cutoff(result)} and j.completed_at < ${cutoff(after)} and j.result is null and not j.awaited`)}`
    : oldest(sql`j.completed_at < ${cutoff(after)}`);
  const [found] = await rows<{ n: number }>(
    db,
    sql`with gone as (
          delete from sluice.jobs where id = any(array(
            select x.id from unnest(${sql.param(p.types)}::text[]) t(type), lateral (${branches}) x limit ${p.limit}))
          returning id
        ),
        steps_gone as (delete from sluice.job_steps s where s.job_id in (select id from gone) returning 1)
        select count(*)::int as n from gone`,
  );
  return found!.n;
}
