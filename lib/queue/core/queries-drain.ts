/**
 * The drain's statements (see queries.ts for the rules): the claim, which also writes earlier outcomes
 * and finds expired leases, and the outcome write on its own.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { flowClaim, flowFreedCte, type FlowLimits } from './queries-flow.js';
import type { HistoryRow } from '../housekeeping/history.js';
import { historyCte } from '../housekeeping/queries-history.js';
import { housekeepingCtes, housekeepingOutput, type HousekeepingParams, type HousekeepingReport } from '../housekeeping/queries-housekeeping.js';
import { rows } from '../queries.js';
import { attemptLogged } from './queries-attempts.js';
import { delivery } from './queries-waits.js';
import { claimWalk, type FairWalk, typesTable } from './queries-walk.js';

const YEAR_MS = 365 * 24 * 3_600_000;

// ------------------------------------------------------------------------------------------ drain

/** What happened to a claimed job; written only while the job still holds `token`. */
export interface Outcome {
  id: string;
  token: string;
  /**
   * done: completed (deleted instead when completed runs are not kept and it has no result and nobody awaits it). retry: pending after delay, attempt
   * spent. dead. release: pending, attempt given back. cancelled: its drain saw the cancel and stopped it.
   * Whatever the kind, a job whose cancel was requested ends cancelled (the request may be newer than the run knows).
   * waiting: written by the run itself (waits.ts), never by this file's statements: the drain only lets go
   * of its lease (delay_ms: when it is due again; 0 when a delivery came meanwhile, and it is pending again).
   */
  kind: 'done' | 'retry' | 'dead' | 'release' | 'cancelled' | 'waiting';
  /** retry/release: run again this many ms after the database's now(); null keeps run_after. */
  delay_ms?: number | null;
  error?: string | null;
  /** done: the handler's result as JSON text (absent: it returned nothing). */
  result?: string;
  /** The run's latest ctx.progress() value not yet written by a heartbeat (JSON text). */
  progress?: string;
  /** The run used durable steps: a done outcome deletes the job's steps with it. */
  steps?: boolean;
  /** release: a run handed back for time (step-fit.ts), to go on at once: in a fresh invocation when the
   *  drain's stop time ended it ('stop'), else once re-claimed ('timeout': the job's own). Not written. */
  handedBack?: 'stop' | 'timeout';
  /** A rescue of an expired lease: written only if the lease is still expired (its drain may have
   *  renewed it meanwhile, with a heartbeat that reached the database late). */
  rescue?: boolean;
}

export interface ClaimedJob {
  id: string;
  type: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  created_at: string;
  /** ms from when the job was due to this claim (the history's lag); absent for a job adopted after a lost claim. */
  lag_ms?: number;
  /** The enqueue's span as a W3C traceparent; returned only to a traced pass (ClaimParams.traced). */
  trace_parent?: string | null;
  /** The job's fairness key; returned only to a claim that walks fair types. */
  fairness_key?: string | null;
}

/** Whether a settled row ends cancelled: the drain saw the cancel, or it was asked for (maybe after the run began). */
const cancelled = sql`(o.kind = 'cancelled' or j.cancel_requested_at is not null)`;

/**
 * What an outcome sets on a row it keeps (all but a done job with nothing to keep, which is deleted). The
 * expressions see the row's latest version: a cancel asked for after the statement began still wins.
 */
const ending = sql`
        status = case when ${cancelled} then 'cancelled' when o.kind = 'done' then 'completed' when o.kind = 'dead' then 'dead' else 'pending' end,
        attempts = case when o.kind = 'release' and not ${cancelled} then greatest(j.attempts - 1, 0) else j.attempts end,
        run_after = case when o.delay_ms is null or ${cancelled} then j.run_after
                         else now() + o.delay_ms * interval '1 millisecond' end,
        last_error = coalesce(o.error, j.last_error),
        dead_at = case when o.kind = 'dead' and not ${cancelled} then now() end,
        result = case when o.kind = 'done' and not ${cancelled} then o.result::jsonb end,
        completed_at = case when o.kind = 'done' and not ${cancelled} then now() end,
        cancelled_at = case when ${cancelled} then now() end,
        progress = coalesce(o.progress::jsonb, j.progress),
        attempt_log = case when o.kind = 'retry' and not ${cancelled} then ${attemptLogged(sql`j`, sql`now()`, sql`'retried'`, sql`o.error`)} else j.attempt_log end,
        locked_until = null,
        lock_token = null`;

/**
 * Applies outcomes as a CTE. Deleting and updating in one statement is safe: they touch disjoint rows,
 * and a statement's later CTEs see the snapshot from before it, so nothing written here is re-claimed.
 */
function outcomesCte(unordered: Outcome[], flow: FlowLimits | null, history: HistoryRow[], keepCompleted: boolean) {
  // In id order, so two drains writing overlapping rows (a rescue and a late outcome) mostly lock
  // them in the same order; a deadlock that still happens is retried by the drain.
  const outcomes = unordered.toSorted((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Parallel arrays through unnest(), not one JSON document: the planner knows an unnest's row count
  // from the array, so it looks outcomes up by primary key rather than hashing the whole table.
  const column = <T>(pick: (o: Outcome) => T) => sql.param(outcomes.map(pick));
  // Array literals made here for values that need no quoting (uuids, fixed words, numbers): the
  // driver's general array serializer escapes element by element, about a kilobyte of garbage a job.
  const plain = (pick: (o: Outcome) => string | number | null) => `{${outcomes.map((o) => pick(o) ?? 'NULL').join(',')}}`;
  // Values Postgres would reject fail the whole statement, and with it every outcome in it: a NUL in
  // an error text, a delay that is not a finite number of ms up to a year.
  const delay = (ms: number | null | undefined) => (ms == null ? null : Number.isFinite(ms) ? Math.min(Math.max(ms, 0), YEAR_MS) : 0);
  // Rescues, results and progress are rare in a batch: one without any sends `{}` for the column, null in every row.
  const rescues = outcomes.some((o) => o.rescue) ? plain((o) => (o.rescue ? 'true' : 'false')) : '{}';
  const results = outcomes.some((o) => o.result !== undefined) ? column((o) => o.result ?? null) : '{}';
  const progress = outcomes.some((o) => o.progress !== undefined) ? column((o) => o.progress ?? null) : '{}';
  return sql`outcome as (
      select * from unnest(${plain((o) => o.id)}::uuid[], ${plain((o) => o.token)}::uuid[],
                           ${plain((o) => o.kind)}::text[], ${plain((o) => delay(o.delay_ms))}::float8[],
                           ${column((o) => o.error?.replaceAll('\0', '') ?? null)}::text[], ${rescues}::boolean[],
                           ${results}::text[], ${progress}::text[])
        as o(id, token, kind, delay_ms, error, rescue, result, progress)
    ),
    -- A done job with nothing to keep (no result, nobody awaiting it, no cancel asked for, completed
    -- runs not kept): deleted.
    finished as (${keepCompleted ? sql`select null::uuid as id where false` : sql`
      delete from sluice.jobs j using outcome o
      where o.kind = 'done' and o.result is null and not j.awaited and j.cancel_requested_at is null
        and j.id = o.id and j.lock_token = o.token
      returning j.id`}
    ),
    -- Every other outcome but a done job's with nothing to return: those are looked up only once, by
    -- the delete (a lookup a job more would be most of this statement's cost on a busy queue). When
    -- completed runs are kept, every outcome.
    settled as (
      update sluice.jobs j set ${ending}
      from outcome o
      where ${keepCompleted ? sql`true` : sql`(o.kind <> 'done' or o.result is not null)`}
        and j.id = o.id and j.lock_token = o.token
        and (o.rescue is not true or j.locked_until < now())
      returning j.id, j.status, j.parent_id
    ),
    -- The done jobs with nothing to return that the delete left: awaited, or asked to cancel (seen in
    -- the snapshot, or in the row's latest version when an await or a cancel committed while the delete
    -- waited for it). Settled here, by primary key; usually the array is empty and this costs nothing.
    settled_late as (
      update sluice.jobs j set ${ending}
      from outcome o
      where j.id = any(array(select id from outcome where kind = 'done' and result is null
                             except select id from finished except select id from settled))
        and j.id = o.id and j.lock_token = o.token
      returning j.id, j.status, j.parent_id
    ),
    ${deliveredCte}${flow ? sql`, ${flowFreedCte}` : sql``}${!keepCompleted && outcomes.some((o) => o.steps) ? sql`, ${stepsGoneCte}` : sql``}${
      history.length > 0 ? sql`, ${historyCte(history)}` : sql``}`;
}

/**
 * A child job that ended (completed, dead or cancelled) is delivered to its parent: a waiting parent is
 * due at once, a running one has its deliveries moved on, so the wait it may be about to write sees the
 * delivery (waits.ts). By id alone, so the update follows the parent's latest row version. Not a parent
 * whose own outcome this statement wrote: a row is updated once per statement, and that outcome re-runs
 * or ends it. A parent whose outcome here is stale (its token gone: a rescue listed its lease, then its
 * run let go of it to wait) gets the delivery, or it would wait for one that has come and gone.
 */
const deliveredCte = sql`delivered as (
      update sluice.jobs p set ${delivery}
      where p.id = any(array(select parent_id from settled where parent_id is not null and status <> 'pending' union all
                             select parent_id from settled_late where parent_id is not null))
        and p.id <> all(array(select id from finished union all select id from settled union all select id from settled_late))
      returning p.id
    )`;

/** The count of outcomes a statement carrying outcomesCte wrote. */
const writtenCount = sql`((select count(*) from finished) + (select count(*) from settled) + (select count(*) from settled_late))::int`;

/** A job's steps go with its row: a success deleted at once (only batches holding a run that used steps
 *  carry this). A kept row keeps them (its page shows them, a replay from a step copies them): retention
 *  deletes them with it. */
const stepsGoneCte = sql`steps_gone as (
      delete from sluice.job_steps s where s.job_id in (select id from finished)
      returning s.job_id
    )`;

export interface ExpiredLease {
  id: string;
  type: string;
  attempts: number;
  max_attempts: number;
  lock_token: string;
  /** A cancel was asked for: the rescue ends it cancelled, not pending or dead. */
  cancel: boolean;
}

export interface ClaimParams {
  /** Lease token shared by every job of this claim. */
  token: string;
  limit: number;
  /** Only these types (a drain's own: another app's jobs on the database stay pending). */
  types: string[];
  /** The app whose drain mark an empty claim writes (lib/queue/app.ts). */
  app: string;
  /** The lease each claimed job gets, in ms; the drain's heartbeats renew it while it holds the job. */
  leaseMs: number;
  /** Outcomes of earlier jobs, written by the same statement (saves a round trip per batch). */
  outcomes: Outcome[];
  /** Completed runs are kept (SLUICE_COMPLETED_RETENTION > 0): a done job becomes completed, never
   *  deleted. Default false: the statement as it was before run history. */
  keepCompleted?: boolean;
  /** The pass's history sums since its last write, added by the same statement. Default none. */
  history?: HistoryRow[];
  /** Also list up to this many running jobs whose lease expired (the rescue; saves a round trip). */
  rescueLimit: number;
  /** The cron tick's once-a-minute housekeeping (queries-housekeeping.ts), on its first claim. */
  housekeeping?: HousekeepingParams;
  /** The flow limits of the types this drain claims; null when none has any (the claim is then as
   *  it was before flow limits, statement for statement). */
  flow: FlowLimits | null;
  /** The fair types among them, with where each one's round-robin resumes; none: the claim is as it
   *  was before fairness. */
  fair?: FairWalk | null;
  /** Return each job's trace_parent: only a pass whose drain span records asks (docs/tracing.md), so
   *  an untraced claim is the statement it was before tracing, bytes and all. */
  traced?: boolean;
}

export interface ClaimResult {
  /** Outcomes that applied; the rest had lost their lease. */
  written: number;
  /** Waiting parents its outcomes made due (their child ended): worth another claim. */
  delivered: number;
  /** The claim took nothing and so wrote the drain mark (drainMarkOk's write). */
  drain_marked: boolean;
  /** When the claim took nothing: ms until the first pending job in claim order is due (null: none pending). */
  next_due_ms: number | null;
  jobs: ClaimedJob[];
  /** Running jobs whose lease expired: their drain crashed, was killed or overran. */
  expired: ExpiredLease[];
  /** When the claim took fewer jobs than asked: due jobs were left pending by a flow limit. */
  held_back: boolean;
  /** When held back: ms until a rate limit's window lets one of them start (null: no rate limit held any). */
  rate_wait_ms: number | null;
  /** Walked jobs whose key's rate window is full, moved to when it opens: the next claim walks past them. */
  deferred: number;
  /** What the housekeeping did, when the claim carried it. */
  housekeeping?: HousekeepingReport;
}

/**
 * The claim: one atomic statement that writes earlier outcomes, picks due pending jobs in priority
 * order with FOR UPDATE SKIP LOCKED (so concurrent drains never take the same job), and leases them:
 * running, attempts + 1, a token and locked_until. It walks jobs_claim_idx one type at a time (claimWalk).
 */
export async function jobClaim(db: Db, p: ClaimParams): Promise<ClaimResult> {
  const [result] = await rows<ClaimResult>(db, jobClaimSql(p));
  return result!;
}

/** The claim statement itself: jobClaim sends it; tests EXPLAIN it on skewed tables, so it never walks rows it will not take. */
export function jobClaimSql(p: ClaimParams): SQL {
  const lease = sql`now() + ${p.leaseMs}::float8 * interval '1 millisecond'`;
  // With flow limits the jobs are picked by flowClaim's CTEs, which take the limits' slots; without,
  // straight from the index.
  const flow = p.flow ? flowClaim(p, p.flow, lease) : null;
  const pick = flow ? flow.pick : sql`select id from (${claimWalk({ from: typesTable(p.types), columns: sql`id`, limit: p.limit, lock: true, fair: p.fair })}) w`;
  const hk = p.housekeeping;
  return sql`with ${outcomesCte(p.outcomes, p.flow, p.history ?? [], p.keepCompleted ?? false)},${flow ? sql` ${flow.ctes},` : sql``}${hk ? sql` ${housekeepingCtes(hk)},` : sql``}
    claimed as (
      update sluice.jobs j set
        status = 'running',
        -- Never past the integer limit: a row written by hand with attempts at 2^31-1 must not fail the claim.
        attempts = case when j.attempts < 2147483647 then j.attempts + 1 else j.attempts end,
        lock_token = ${p.token},
        started_at = now(),
        locked_until = ${lease}
      -- "= any(array(...))" rather than a join: the planner then fetches each row by primary key
      -- instead of hashing the whole table, which it prefers while the table is small.
      where j.id = any(array(${pick}))
      returning j.id, j.type, j.payload, j.attempts, j.max_attempts, j.created_at, j.priority, j.run_after,
                -- date_part is float8 arithmetic; extract() would be numeric, several times slower a row.
                -- float8, never int: a job due 25 days ago would overflow an int and fail every claim.
                greatest(0, date_part('epoch', now() - j.run_after) * 1000) as lag_ms${p.traced ? sql`, j.trace_parent` : sql``}${
                  p.fair?.types.length ? sql`, j.fairness_key` : sql``}
    ),
    -- An empty claim is how a pass ends well: it writes the dead-man switch's drain mark itself, so an
    -- empty tick costs this one statement.
    drain_mark as (
      insert into sluice.apps (app, last_drain_ok_at) select ${p.app}, now() where not exists (select 1 from claimed)
      on conflict (app) do update set last_drain_ok_at = excluded.last_drain_ok_at, kick_sent_at = null
      returning app
    )
    select ${writtenCount} as written, (select count(*) from delivered)::int as delivered,
           exists (select 1 from drain_mark) as drain_marked,
           -- Nothing due: when the next pending job (first in claim order) becomes due, or a waiting
           -- job's wait ends, whichever is first, for the idle hint. Looked up only for an empty claim,
           -- along jobs_claim_idx and jobs_waiting_idx, a type at a time.
           case when not exists (select 1 from claimed) then least((
             select (extract(epoch from w.run_after - now()) * 1000)::float8
             from (${claimWalk({ from: typesTable(p.types), columns: sql`id`, limit: 1, due: false })}) w), (
             select (extract(epoch from min(x.run_after) - now()) * 1000)::float8
             from ${typesTable(p.types)}, lateral (
               select j.run_after from sluice.jobs j where j.status = 'waiting' and j.type = t.type order by j.run_after limit 1) x)) end as next_due_ms,
           coalesce((select json_agg(c order by c.priority desc, c.run_after) from claimed c), '[]') as jobs,
           coalesce((select json_agg(x) from (
             select id, type, attempts, max_attempts, lock_token, cancel_requested_at is not null as cancel from sluice.jobs
             where status = 'running' and locked_until < now()
             order by locked_until limit ${p.rescueLimit}
           ) x), '[]') as expired,
           ${flow ? flow.outputs : sql`false as held_back, null::float8 as rate_wait_ms, 0 as deferred`}${hk ? sql`, ${housekeepingOutput(hk)}` : sql``}`;
}

/** Writes outcomes without claiming: the drain's last statement, or a flush while jobs are slow. */
export async function jobWriteOutcomes(
  db: Db, outcomes: Outcome[], flow: FlowLimits | null = null, history: HistoryRow[] = [], keepCompleted = false,
): Promise<{ written: number; delivered: number }> {
  const [result] = await rows<{ written: number; delivered: number }>(
    db,
    sql`with ${outcomesCte(outcomes, flow, history, keepCompleted)}
        select ${writtenCount} as written, (select count(*) from delivered)::int as delivered`,
  );
  return result!;
}

/** A job whose lease a heartbeat renews, with the run's latest ctx.progress() value (JSON text) when one is unwritten. */
export interface HeldLease {
  id: string;
  token: string;
  progress?: string;
}

/** A renewed lease: `cancel` when a cancel of the job was asked for (its run is to stop). */
export interface RenewedLease {
  id: string;
  cancel: boolean;
}

/**
 * Renews the leases of jobs a drain holds (running or waiting to start): each gets `leaseMs` more from
 * now, its concurrency slot too, while it still holds `token`, and writes their runs' latest progress.
 * Returns the ids renewed (any other was lost to a rescue), each saying whether a cancel was asked for.
 */
export async function jobHeartbeat(db: Db, held: HeldLease[], leaseMs: number, flow: boolean): Promise<RenewedLease[]> {
  const ids = `{${held.map((h) => h.id).join(',')}}`;
  const tokens = `{${held.map((h) => h.token).join(',')}}`;
  // Most heartbeats carry no progress: then the column is `{}`, null in every row.
  const progress = held.some((h) => h.progress !== undefined) ? sql.param(held.map((h) => h.progress ?? null)) : '{}';
  return rows<RenewedLease>(
    db,
    sql`with held as (select * from unnest(${ids}::uuid[], ${tokens}::uuid[], ${progress}::text[]) as h(id, token, progress)),
        renewed as (
          update sluice.jobs j set locked_until = now() + ${leaseMs}::float8 * interval '1 millisecond',
                                   progress = coalesce(h.progress::jsonb, j.progress)
          -- Not once the lease has run out: a rescue may have listed the job, and its outcome must win.
          from held h where j.id = h.id and j.lock_token = h.token and j.status = 'running' and j.locked_until >= now()
          returning j.id, j.cancel_requested_at is not null as cancel
        )${flow ? sql`,
        slots as (
          update sluice.flow_slots s set held_until = now() + ${leaseMs}::float8 * interval '1 millisecond'
          from held h where s.limiter = 'concurrency' and s.job_id = h.id and s.token = h.token
          returning s.job_id
        )` : sql``}
        select id, cancel from renewed`,
  );
}

/**
 * The jobs a claim leased, found by its token: a claim whose answer was lost with its connection may
 * have committed. Looked up among running rows (jobs_rescue_idx), ms of lease left with each.
 */
export async function jobsOfClaim(db: Db, token: string): Promise<(ClaimedJob & { lease_left_ms: number })[]> {
  return rows(
    db,
    sql`select id, type, payload, attempts, max_attempts, created_at, trace_parent,
               (extract(epoch from locked_until - now()) * 1000)::float8 as lease_left_ms
        from sluice.jobs where status = 'running' and locked_until >= now() and lock_token = ${token}::uuid
        order by priority desc, run_after`,
  );
}
