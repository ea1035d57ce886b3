/**
 * Every SQL statement of the queue, each a named function; enqueue's are in queries-enqueue.ts and the
 * drains' coordination in queries-coordination.ts. Nothing else in Sluice writes SQL.
 * Each is a single statement, so all of them work on every driver, with or without transactions,
 * and inside a caller's transaction. Values are always parameters.
 */
import { DrizzleQueryError, type SQL, sql } from 'drizzle-orm';
import type { Db } from './db.js';
import type { JobStatus } from './schema.js';

export async function rows<T>(db: Db, query: SQL): Promise<T[]> {
  try {
    const result = (await db.execute(query)) as unknown as { rows: T[] };
    return result.rows;
  } catch (error) {
    // drizzle wraps driver errors in one whose message holds every parameter: payloads, possibly
    // personal data, megabytes for a bulk insert. Rethrow the driver's own error, which names no values.
    throw error instanceof DrizzleQueryError && error.cause instanceof Error ? error.cause : error;
  }
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

/**
 * A job row's type is not paused. NOT IN over the (never null) primary key is a hashed subplan read
 * once per statement, and it keeps the claim on jobs_claim_idx: `<> all(array(...))` and NOT EXISTS
 * both made the planner sort a sequential scan instead (0.5 -> 5 ms per claim of 1,000 at 20,000 rows).
 */
export const notPaused = sql`type not in (select type from sluice.paused_types)`;

/** A job row is of one of these types; null: any type. */
export const ofTypes = (types: string[] | null) =>
  sql`(${types === null ? null : sql.param(types)}::text[] is null or type = any(${types === null ? null : sql.param(types)}::text[]))`;
const YEAR_MS = 365 * 24 * 3_600_000;

// ------------------------------------------------------------------------------------------ drain

/** What happened to a claimed job; written only while the job still holds `token`. */
export interface Outcome {
  id: string;
  token: string;
  /** done: delete. retry: pending after delay, attempt spent. dead. release: pending, attempt given back. */
  kind: 'done' | 'retry' | 'dead' | 'release';
  /** retry/release: run again this many ms after the database's now(); null keeps run_after. */
  delay_ms?: number | null;
  error?: string | null;
}

export interface ClaimedJob {
  id: string;
  type: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  created_at: string;
}

/**
 * Applies outcomes as a CTE. Deleting and updating in one statement is safe: they touch disjoint rows,
 * and a statement's later CTEs see the snapshot from before it, so nothing written here is re-claimed.
 */
function outcomesCte(unordered: Outcome[]) {
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
  return sql`outcome as (
      select * from unnest(${plain((o) => o.id)}::uuid[], ${plain((o) => o.token)}::uuid[],
                           ${plain((o) => o.kind)}::text[], ${plain((o) => delay(o.delay_ms))}::float8[],
                           ${column((o) => o.error?.replaceAll('\0', '') ?? null)}::text[])
        as o(id, token, kind, delay_ms, error)
    ),
    finished as (
      delete from sluice.jobs j using outcome o
      where o.kind = 'done' and j.id = o.id and j.lock_token = o.token
      returning j.id
    ),
    settled as (
      update sluice.jobs j set
        status = case when o.kind = 'dead' then 'dead' else 'pending' end,
        attempts = case when o.kind = 'release' then greatest(j.attempts - 1, 0) else j.attempts end,
        run_after = case when o.delay_ms is null then j.run_after
                         else now() + o.delay_ms * interval '1 millisecond' end,
        last_error = coalesce(o.error, j.last_error),
        locked_until = null,
        lock_token = null
      from outcome o
      where o.kind <> 'done' and j.id = o.id and j.lock_token = o.token
      returning j.id
    )`;
}

export interface ExpiredLease {
  id: string;
  type: string;
  attempts: number;
  max_attempts: number;
  lock_token: string;
}

export interface ClaimParams {
  /** Lease token shared by every job of this claim. */
  token: string;
  limit: number;
  /** Only these types; null for all. */
  types: string[] | null;
  /** Lease length per job type in ms; types not listed get defaultLeaseMs. */
  leaseMs: Record<string, number>;
  defaultLeaseMs: number;
  /** Outcomes of earlier jobs, written by the same statement (saves a round trip per batch). */
  outcomes: Outcome[];
  /** Also list up to this many running jobs whose lease expired (the rescue; saves a round trip). */
  rescueLimit: number;
}

export interface ClaimResult {
  /** Outcomes that applied; the rest had lost their lease. */
  written: number;
  /** The claim took nothing and so wrote the heartbeat (drainMarkOk's write). */
  heartbeat: boolean;
  /** When the claim took nothing: ms until the first pending job in claim order is due (null: none pending). */
  next_due_ms: number | null;
  jobs: ClaimedJob[];
  /** Running jobs whose lease expired: their drain crashed, was killed or overran. */
  expired: ExpiredLease[];
}

/**
 * The claim: one atomic statement that writes earlier outcomes, picks due pending jobs in priority
 * order with FOR UPDATE SKIP LOCKED (so concurrent drains never take the same job), and leases them:
 * running, attempts + 1, a token and locked_until. Its ORDER BY matches jobs_claim_idx exactly.
 */
export async function jobClaim(db: Db, p: ClaimParams): Promise<ClaimResult> {
  const [result] = await rows<ClaimResult>(db, jobClaimSql(p));
  return result!;
}

/** The claim statement itself: jobClaim sends it; a test EXPLAINs it, so its plan stays on jobs_claim_idx. */
export function jobClaimSql(p: ClaimParams): SQL {
  return sql`with ${outcomesCte(p.outcomes)},
    claimed as (
      update sluice.jobs j set
        status = 'running',
        attempts = j.attempts + 1,
        lock_token = ${p.token},
        started_at = now(),
        locked_until = now() + coalesce((${json(p.leaseMs)} ->> j.type)::float8, ${p.defaultLeaseMs})
                               * interval '1 millisecond'
      -- "= any(array(...))" rather than a join: the planner then fetches each row by primary key
      -- instead of hashing the whole table, which it prefers while the table is small.
      where j.id = any(array(
        select id from sluice.jobs
        where status = 'pending' and run_after <= now()
          and ${ofTypes(p.types)} and ${notPaused}
        order by priority desc nulls last, run_after
        limit ${p.limit}
        for update skip locked
      ))
      returning j.id, j.type, j.payload, j.attempts, j.max_attempts, j.created_at, j.priority, j.run_after
    ),
    -- An empty claim is how a pass ends well: it writes the dead-man switch's heartbeat itself, so an
    -- empty tick costs this one statement.
    heartbeat as (
      insert into sluice.queue_state (id, last_drain_ok_at) select 1, now() where not exists (select 1 from claimed)
      on conflict (id) do update set last_drain_ok_at = excluded.last_drain_ok_at, kick_sent_at = null
      returning id
    )
    select ((select count(*) from finished) + (select count(*) from settled))::int as written,
           exists (select 1 from heartbeat) as heartbeat,
           -- Nothing due: when the next pending job (first in claim order) becomes due, for the idle
           -- hint. Looked up only for an empty claim, along jobs_claim_idx.
           case when not exists (select 1 from claimed) then (
             select (extract(epoch from run_after - now()) * 1000)::float8 from sluice.jobs
             where status = 'pending'
               and ${ofTypes(p.types)} and ${notPaused}
             order by priority desc nulls last, run_after limit 1) end as next_due_ms,
           coalesce((select json_agg(c order by c.priority desc, c.run_after) from claimed c), '[]') as jobs,
           coalesce((select json_agg(x) from (
             select id, type, attempts, max_attempts, lock_token from sluice.jobs
             where status = 'running' and locked_until < now()
             order by locked_until limit ${p.rescueLimit}
           ) x), '[]') as expired`;
}

/** Writes outcomes without claiming: the drain's last statement, or a flush while jobs are slow. */
export async function jobWriteOutcomes(db: Db, outcomes: Outcome[]): Promise<number> {
  const [result] = await rows<{ written: number }>(
    db,
    sql`with ${outcomesCte(outcomes)}
        select ((select count(*) from finished) + (select count(*) from settled))::int as written`,
  );
  return result!.written;
}

// ------------------------------------------------------------------------------------------ stats

export interface StatsRow {
  type: string;
  status: JobStatus;
  count: number;
  /** ms since the oldest due pending job became due; null when none is due. */
  oldest_due_ms: number | null;
}

export interface StatsResult {
  rows: StatsRow[];
  /** ms since a drain last ended well; null when none has. */
  last_drain_age_ms: number | null;
  /** Paused job types. */
  paused: string[];
}

/**
 * Counts by type and status, how long the oldest due pending job of each type has waited, how long
 * ago a drain last ended well, and the paused types: one statement.
 */
export async function jobStats(db: Db): Promise<StatsResult> {
  const [result] = await rows<StatsResult>(
    db,
    sql`select coalesce((select json_agg(s) from (
              select type, status, count(*)::int as count,
                     (extract(epoch from now() - min(run_after) filter (where status = 'pending' and run_after <= now()))
                       * 1000)::float8 as oldest_due_ms
              from sluice.jobs group by type, status order by type, status) s), '[]') as rows,
            (select (extract(epoch from now() - last_drain_ok_at) * 1000)::float8
             from sluice.queue_state where id = 1) as last_drain_age_ms,
            coalesce((select json_agg(type order by type) from sluice.paused_types), '[]') as paused`,
  );
  return result!;
}

/** Records that a drain ended well, now: the dead-man switch's heartbeat. One upsert of one row. */
export async function drainMarkOk(db: Db): Promise<void> {
  await rows(
    db,
    sql`insert into sluice.queue_state (id, last_drain_ok_at) values (1, now())
        on conflict (id) do update set last_drain_ok_at = excluded.last_drain_ok_at`,
  );
}

// ------------------------------------------------------------------------------------------ admin
// Added for the HTTP admin routes (issue 3): list, get, retry (dead -> pending), cancel (pending|dead).
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
}

/** The columns an admin sees: every one but the lease token. */
const jobRow = (alias: SQL) => sql`to_jsonb(${alias}) - 'lock_token'`;

export interface JobListParams {
  status: JobStatus | null;
  type: string | null;
  limit: number;
  /** Only ids after this one (ids are UUIDv7: id order is creation order). */
  after: string | null;
}

/** A page of jobs in id order, optionally filtered by status and type. */
export async function jobList(db: Db, p: JobListParams): Promise<JobRow[]> {
  const found = await rows<{ job: JobRow }>(
    db,
    sql`select ${jobRow(sql`j`)} as job from sluice.jobs j
        where (${p.status}::text is null or j.status = ${p.status}::text)
          and (${p.type}::text is null or j.type = ${p.type}::text)
          and (${p.after}::uuid is null or j.id > ${p.after}::uuid)
        order by j.id limit ${p.limit}`,
  );
  return found.map((r) => r.job);
}

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
}

/** A dead job back to pending, due now, attempts reset. Changes nothing in any other state. */
export async function jobRetryDead(db: Db, id: string): Promise<JobChange> {
  const [result] = await rows<JobChange>(
    db,
    sql`with target as (select status from sluice.jobs where id = ${id}::uuid),
    retried as (
      update sluice.jobs j set status = 'pending', attempts = 0, run_after = now()
      where j.id = ${id}::uuid and j.status = 'dead'
      returning j.*
    )
    select (select status from target) as previous,
           (select ${jobRow(sql`r`)} from retried r) as job,
           exists (select 1 from retried) as changed`,
  );
  return result!;
}

/** Deletes a pending or dead job. A running job (or one claimed meanwhile) is left alone. */
export async function jobCancel(db: Db, id: string): Promise<JobChange> {
  const [result] = await rows<JobChange>(
    db,
    sql`with target as (select status from sluice.jobs where id = ${id}::uuid),
    cancelled as (
      delete from sluice.jobs j where j.id = ${id}::uuid and j.status in ('pending', 'dead') returning j.*
    )
    select (select status from target) as previous,
           (select ${jobRow(sql`c`)} from cancelled c) as job,
           exists (select 1 from cancelled) as changed`,
  );
  return result!;
}
