/**
 * Durable steps' statements (issue 11; queries.ts states the rules; their durations' are in
 * queries-step-timings.ts). A step's row is written only while the job still holds the lease token of
 * the run that finished the step, so a run that lost its job to a rescue cannot record a result the
 * job's next run would trust.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import { stepTimingCtes, type StepTiming } from './queries-step-timings.js';

export interface StepRow {
  name: string;
  result: unknown;
  finished_at: string;
  duration_ms: number | null;
}

/** Every finished step of a job, for its run to replay. */
export async function stepsOfJob(db: Db, jobId: string): Promise<StepRow[]> {
  return rows<StepRow>(
    db,
    sql`select name, result, to_jsonb(finished_at) #>> '{}' as finished_at, duration_ms from sluice.job_steps where job_id = ${jobId}::uuid order by finished_at, name`,
  );
}

/**
 * What a run replays: the job's finished steps (name and result), and its delivery count (waits.ts), in
 * one statement.
 */
export async function stepsOfRun(db: Db, jobId: string): Promise<{ steps: { name: string; result: unknown }[]; deliveries: number }> {
  const [run] = await rows<{ steps: { name: string; result: unknown }[]; deliveries: number | null }>(
    db,
    sql`select (select deliveries from sluice.jobs where id = ${jobId}::uuid) as deliveries,
               coalesce((select json_agg(json_build_object('name', name, 'result', result)) from sluice.job_steps where job_id = ${jobId}::uuid), '[]') as steps`,
  );
  return { steps: run!.steps, deliveries: run!.deliveries ?? 0 };
}

/**
 * Records a finished step while `token` still leases the job: whether it did. On a transaction (a
 * step whose writes commit with its mark) the job's row is locked FOR SHARE first, so a rescue cannot
 * take the job between this check and the commit. With `timing`, the same statement records how long
 * the step took (queries-step-timings.ts).
 */
export async function stepSave(db: Db, jobId: string, token: string, name: string, resultJson: string, timing?: StepTiming): Promise<boolean> {
  const insert = sql`insert into sluice.job_steps (job_id, name, result, duration_ms)
        select ${jobId}::uuid, ${name}, ${resultJson}::jsonb, ${timing ? Math.round(timing.ms) : null}::int
        where exists (select 1 from sluice.jobs where id = ${jobId}::uuid and lock_token = ${token}::uuid for share)
        on conflict (job_id, name) do nothing
        returning name`;
  const saved = await rows<{ name: string }>(
    db,
    timing ? sql`with saved as (${insert}), ${stepTimingCtes(name, timing)} select name from saved` : insert,
  );
  return saved.length > 0;
}

/** Replaces a step's stored value (a wait or an invoke, once it resolved) while `token` still leases the job: whether it did. */
export async function stepResolve(db: Db, jobId: string, token: string, name: string, resultJson: string): Promise<boolean> {
  const updated = await rows<{ name: string }>(
    db,
    sql`update sluice.job_steps set result = ${resultJson}::jsonb, finished_at = now()
        where job_id = ${jobId}::uuid and name = ${name}
          and exists (select 1 from sluice.jobs where id = ${jobId}::uuid and lock_token = ${token}::uuid)
        returning name`,
  );
  return updated.length > 0;
}

/**
 * Deletes steps whose job is gone: a job deleted as it succeeds takes its steps in the same statement
 * (the outcome write), and retention takes a kept job's with it, but a job that called no step in its
 * last run, or was deleted by hand, leaves them behind. At most `limit` rows; a cron tick sends it.
 */
export async function stepsPruneOrphans(db: Db, limit: number): Promise<number> {
  const [result] = await rows<{ n: number }>(
    db,
    sql`with gone as (
          delete from sluice.job_steps s where s.ctid = any(array(
            select ctid from sluice.job_steps x where not exists (select 1 from sluice.jobs j where j.id = x.job_id) limit ${limit}))
          returning 1)
        select count(*)::int as n from gone`,
  );
  return result!.n;
}
