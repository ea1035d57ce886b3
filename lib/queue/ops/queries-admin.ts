/**
 * The admin API's statements (see ../queries.ts for the rules): list, get, retry (dead -> pending) and
 * cancel (pending|dead -> cancelled, running -> cancel requested) one job, and the dead jobs of a type in bulk.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import type { JobStatus } from '../schema.js';
import { delivery } from '../core/queries-waits.js';
import { attemptLogged } from '../core/queries-attempts.js';

// Rows come back through to_jsonb, so timestamps are ISO 8601 strings and keys are column names.

export interface JobRow {
  id: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  started_at: string | null;
  idempotency_key: string | null;
  debounce_key: string | null;
  concurrency_key: string | null;
  rate_key: string | null;
  dead_at: string | null;
  result?: unknown;
  completed_at?: string | null;
  cancelled_at?: string | null;
  cancel_requested_at?: string | null;
  awaited?: boolean;
  progress?: unknown;
  parent_id?: string | null;
  parent_step?: string | null;
  wait_for?: string[] | null;
  attempt_log?: unknown[] | null;
  replay_of?: string | null;
  trace_parent?: string | null;
}

/** A child job (ctx.invoke) as its parent's detail lists it. */
export interface ChildRow {
  id: string;
  type: string;
  status: JobStatus;
  parent_step: string;
}

/** A job's child jobs, in the order they were enqueued (along jobs_parent_idx). */
export async function jobChildren(db: Db, id: string): Promise<ChildRow[]> {
  return rows<ChildRow>(db, sql`select id, type, status, parent_step from sluice.jobs where parent_id = ${id}::uuid order by id`);
}

/** The columns an admin sees: every one but the lease token. */
const jobRow = (alias: SQL) => sql`to_jsonb(${alias}) - 'lock_token'`;

/** One job by id, or undefined. */
export async function jobGet(db: Db, id: string): Promise<JobRow | undefined> {
  const [found] = await rows<{ job: JobRow }>(db, sql`select ${jobRow(sql`j`)} as job from sluice.jobs j where j.id = ${id}::uuid`);
  return found?.job;
}

export interface JobChange {
  /** The job's status before the statement; null when no such job exists. */
  previous: JobStatus | null;
  /** The job after the change (retry), or null when nothing changed. */
  job: JobRow | null;
  changed: boolean;
  /** A cancel: its child jobs (and theirs) cancelled or asked to stop with it. */
  children?: number;
  /** A cancel of a child job: its waiting parent was made due (its invoke rejects). */
  delivered_to_parent?: boolean;
}

/** What a retry sets on a dead job, one or a bulk: pending, due now, attempts reset, no time of death;
 *  the attempt that ended it dead goes to its attempt log, so its page still shows it. */
const retried = sql`status = 'pending', attempts = 0, run_after = now(), dead_at = null,
      attempt_log = ${attemptLogged(sql`j`, sql`coalesce(j.dead_at, now())`, sql`'dead'`, sql`j.last_error`)}`;

/** A dead job back to pending, due now, attempts reset. Changes nothing in any other state. */
export async function jobRetryDead(db: Db, id: string): Promise<JobChange> {
  const [result] = await rows<JobChange>(
    db,
    sql`with target as (select status from sluice.jobs where id = ${id}::uuid),
    retried as (
      update sluice.jobs j set ${retried}
      where j.id = ${id}::uuid and j.status = 'dead'
      returning j.*
    )
    select (select status from target) as previous,
           (select ${jobRow(sql`r`)} from retried r) as job,
           exists (select 1 from retried) as changed`,
  );
  return result!;
}

/** What a cancel sets on a pending or dead job, one or a bulk: cancelled, kept (with its steps, for a replay from one) for the result retention. */
const cancelledNow = sql`status = 'cancelled', cancelled_at = now(), dead_at = null`;

const unfinished = sql.raw(`j.status in ('pending', 'waiting', 'dead')`);

/**
 * The child jobs (ctx.invoke), at any depth, of the jobs `roots` selects (their ids), cancelled with them
 * along jobs_parent_idx: the unfinished ones at once, the running ones asked to stop. Needs `with recursive`.
 */
const childrenCancelCtes = (roots: SQL) => sql`tree as (
      select id from sluice.jobs where parent_id in (${roots})
      union select c.id from sluice.jobs c join tree t on c.parent_id = t.id
    ),
    children_cancelled as (
      update sluice.jobs j set ${cancelledNow}, wait_for = null where j.id in (select id from tree) and ${unfinished} returning j.id
    ),
    children_requested as (
      update sluice.jobs j set cancel_requested_at = coalesce(j.cancel_requested_at, now())
      where j.id in (select id from tree) and j.status = 'running' returning j.id
    )`;

/**
 * Cancels a job: a pending, waiting or dead one becomes cancelled at once (its steps kept); a running
 * one gets cancel_requested_at, and its drain stops it at its next lease renewal (or a rescue ends it
 * cancelled). Anything else (or a job claimed meanwhile) is left alone. The two updates touch one row
 * in states that exclude each other, so at most one of them applies. Its unfinished children (ctx.invoke),
 * at any depth, are cancelled with it.
 */
export async function jobCancel(db: Db, id: string): Promise<JobChange> {
  const [result] = await rows<JobChange>(
    db,
    sql`with recursive target as (select status from sluice.jobs where id = ${id}::uuid),
    cancelled as (
      update sluice.jobs j set ${cancelledNow}, wait_for = null where j.id = ${id}::uuid and ${unfinished} returning j.*
    ),
    requested as (
      update sluice.jobs j set cancel_requested_at = coalesce(j.cancel_requested_at, now())
      where j.id = ${id}::uuid and j.status = 'running' returning j.*
    ),
    ${childrenCancelCtes(sql`select id from cancelled union all select id from requested`)},
    -- A child cancelled at once is delivered to its parent (whose invoke then rejects), as a child's end does.
    parent_delivered as (
      update sluice.jobs p set ${delivery}
      where p.id = (select parent_id from cancelled)
      returning p.id
    )
    select (select status from target) as previous,
           coalesce((select ${jobRow(sql`c`)} from cancelled c), (select ${jobRow(sql`r`)} from requested r)) as job,
           exists (select 1 from cancelled) or exists (select 1 from requested) as changed,
           (select count(*) from children_cancelled)::int + (select count(*) from children_requested)::int as children,
           exists (select 1 from parent_delivered) as delivered_to_parent`,
  );
  return result!;
}

/** The newest dead jobs (of one type, or any), and how many dead jobs the filter has in all. */
export async function jobsDead(db: Db, type: string | null, limit: number): Promise<{ jobs: JobRow[]; total: number }> {
  const [result] = await rows<{ jobs: JobRow[]; total: number }>(
    db,
    sql`select coalesce((select json_agg(d.job) from (
              select ${jobRow(sql`j`)} as job from sluice.jobs j
              where j.status = 'dead' and (${type}::text is null or j.type = ${type}::text)
              order by j.dead_at desc nulls first limit ${limit}) d), '[]') as jobs,
            (select count(*)::int from sluice.jobs where status = 'dead' and (${type}::text is null or type = ${type}::text)) as total`,
  );
  return result!;
}

/** Up to `limit` dead jobs of a filter back to pending (as jobRetryDead does one); how many. */
export async function jobsRetryDead(db: Db, type: string | null, limit: number): Promise<number> {
  const [result] = await rows<{ count: number }>(
    db,
    sql`with retried as (
          update sluice.jobs j set ${retried}
          where j.id = any(array(
            select id from sluice.jobs where status = 'dead' and (${type}::text is null or type = ${type}::text)
            order by dead_at limit ${limit} for update skip locked))
          returning 1
        )
        select count(*)::int as count from retried`,
  );
  return result!.count;
}
/** Up to `limit` dead jobs of a filter cancelled (kept, with their steps, for the result retention) with their unfinished children; how many (children not counted). */
export async function jobsCancelDead(db: Db, type: string | null, limit: number): Promise<number> {
  const [result] = await rows<{ count: number }>(
    db,
    sql`with recursive cancelled as (
          update sluice.jobs j set ${cancelledNow}
          where j.id = any(array(
            select id from sluice.jobs where status = 'dead' and (${type}::text is null or type = ${type}::text)
            order by dead_at limit ${limit} for update skip locked))
          returning j.id
        ),
        ${childrenCancelCtes(sql`select id from cancelled`)}
        select count(*)::int as count from cancelled`,
  );
  return result!.count;
}
