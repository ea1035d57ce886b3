/**
 * The runs browser's statements (see ../queries.ts for the rules): a page of jobs by a filter, newest
 * first, and replays. Each status is listed along its own partial index, a type at a time, so a page
 * costs the same on a table of 10M rows as on one of 1,000, and other statuses' and types' rows are
 * never read: completed along jobs_completed_idx, dead along jobs_dead_type_idx, cancelled along
 * jobs_cancelled_idx, waiting along jobs_waiting_idx, pending along jobs_claim_idx (in claim order),
 * running along jobs_rescue_idx (a few rows). With no type given, the types are found by skipping along
 * the same index (a recursive CTE, a probe per type). With no status, jobs are listed by id (UUIDv7:
 * enqueue order) along the primary key.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { ofTypes, rows } from '../queries.js';
import type { JobStatus } from '../schema.js';
import type { JobRow } from './queries-admin.js';

export interface RunFilterParams {
  status: JobStatus | null;
  type: string | null;
  /** ISO 8601 bounds on the time the status orders by (the enqueue time without a status). */
  from: string | null;
  to: string | null;
  idempotencyKey: string | null;
  id: string | null;
}

/** Where the next page starts: the last row's sort key. */
export type RunCursor = (string | number)[];

/** Statuses listed newest first by a time column, and the index that orders it (leading with type). */
const TIMED: Partial<Record<JobStatus, string>> = { completed: 'completed_at', dead: 'dead_at', cancelled: 'cancelled_at', waiting: 'run_after' };

/** How each timed status's index sorts nulls, read backwards (the order a page must ask for to walk it). */
const NULLS: Partial<Record<JobStatus, string>> = { completed: 'nulls first', dead: 'nulls last', cancelled: 'nulls first', waiting: 'nulls first' };

const jobRow = sql`to_jsonb(j) - 'lock_token'`;

/**
 * The first `limit` rows of `rowsOf` in `order` (an index's own order, so the walk stops there), plus
 * every other row sharing the last one's sort key (`keys`; `reversed` is `order` backwards, to find it): outcomes written by one statement share a
 * completed_at, and a page that cut such a group would lose the rest of it at the next cursor. The
 * page's final order (ties by id) is then sorted from at most `limit` rows and that group.
 */
const headAndEdge = (rowsOf: SQL, order: SQL, reversed: SQL, keys: string[], limit: number) => {
  const edge = sql.raw(`(${keys.join(', ')})`);
  return sql`with head as materialized (${rowsOf} order by ${order} limit ${limit}),
      last as (select ${sql.raw(keys.join(', '))} from head order by ${reversed} limit 1)
    select * from head where ${edge} <> (select ${sql.raw(keys.join(', '))} from last)
    union all
    ${rowsOf} and ${sql.raw(`(${keys.map((k) => `j.${k}`).join(', ')})`)} = (select ${sql.raw(keys.join(', '))} from last)`;
};

/** The sort key of a row, as the cursor the next page starts after. */
export function cursorOf(status: JobStatus | null, r: JobRow): RunCursor {
  const column = status ? TIMED[status] : undefined;
  if (column) return [(r as unknown as Record<string, string>)[column]!, r.id];
  if (status === 'pending') return [r.priority, r.run_after, r.id];
  if (status === 'running') return [r.started_at ?? '', r.id];
  return [r.id];
}

const timeBounds = (column: SQL, f: RunFilterParams) =>
  sql`(${f.from}::timestamptz is null or ${column} >= ${f.from}::timestamptz) and (${f.to}::timestamptz is null or ${column} < ${f.to}::timestamptz)`;

/** The types to walk: the one asked for, or every type with rows in `status`, skipping along its index. */
const typesOf = (status: JobStatus, type: string | null) =>
  type !== null
    ? sql`(select ${type}::text as type) t`
    : sql`(with recursive s(type) as (
          (select j.type from sluice.jobs j where j.status = ${status} order by j.type limit 1)
          union all
          select (select j.type from sluice.jobs j where j.status = ${status} and j.type > s.type order by j.type limit 1) from s where s.type is not null
        ) select type from s where type is not null) t`;

/** A page of jobs matching the filter, `limit` at most, after `cursor`, newest first (pending: next to run first). */
export async function runsList(db: Db, f: RunFilterParams, limit: number, cursor: RunCursor | null): Promise<JobRow[]> {
  const found = await rows<{ job: JobRow }>(db, runsListSql(f, limit, cursor));
  return found.map((r) => r.job);
}

/** The statement runsList sends: tests EXPLAIN it on skewed tables. */
export function runsListSql(f: RunFilterParams, limit: number, cursor: RunCursor | null): SQL {
  const same = sql`(${f.type}::text is null or j.type = ${f.type}::text) and (${f.status}::text is null or j.status = ${f.status}::text)`;
  // An id or a key finds at most a row per type, by primary key or jobs_type_idempotency_key_idx.
  if (f.id !== null) return sql`select ${jobRow} as job from sluice.jobs j where j.id = ${f.id}::uuid and ${same}`;
  if (f.idempotencyKey !== null) {
    return sql`select ${jobRow} as job from sluice.jobs j where j.idempotency_key = ${f.idempotencyKey} and ${same}
               order by j.id desc limit ${limit}`;
  }
  const status = f.status;
  const column = status ? TIMED[status] : undefined;
  if (status && column) {
    const c = sql.raw(`j.${column}`);
    const order = sql.raw(`${column} desc ${NULLS[status]}`);
    const after = cursor ? sql`(${c}, j.id) < (${cursor[0]}::timestamptz, ${cursor[1]}::uuid)` : sql`true`;
    const rowsOf = sql`select j.* from sluice.jobs j where j.status = ${status} and j.type = t.type and ${c} is not null and ${timeBounds(c, f)} and ${after}`;
    return sql`select ${jobRow} as job from ${typesOf(status, f.type)}, lateral (${headAndEdge(rowsOf, order, sql.raw(`${column} asc`), [column], limit)}) j
               order by ${c} desc, j.id desc limit ${limit}`;
  }
  if (status === 'pending') {
    // Claim order is priority desc, then run_after (then id), as jobs_claim_idx sorts (nulls last: its
    // definition's): after a cursor, the rest of its priority, then lower ones.
    const rowsOf = (where: SQL) => sql`select j.* from sluice.jobs j where j.status = 'pending' and j.type = t.type and ${timeBounds(sql`j.run_after`, f)} and ${where}`;
    const page = (where: SQL) => sql`(${headAndEdge(rowsOf(where), sql`priority desc nulls last, run_after`, sql`priority nulls first, run_after desc`, ['priority', 'run_after'], limit)})`;
    const pages = cursor
      ? sql`${page(sql`j.priority = ${cursor[0]}::int and (j.run_after, j.id) > (${cursor[1]}::timestamptz, ${cursor[2]}::uuid)`)}
            union all ${page(sql`j.priority < ${cursor[0]}::int`)}`
      : page(sql`true`);
    return sql`select ${jobRow} as job from ${typesOf('pending', f.type)}, lateral (${pages}) j
               order by j.priority desc nulls last, j.run_after, j.id limit ${limit}`;
  }
  if (status === 'running') {
    const after = cursor ? sql`(j.started_at, j.id) < (${cursor[0]}::timestamptz, ${cursor[1]}::uuid)` : sql`true`;
    return sql`select ${jobRow} as job from sluice.jobs j where j.status = 'running' and ${same} and ${timeBounds(sql`j.started_at`, f)} and ${after}
               order by j.started_at desc, j.id desc limit ${limit}`;
  }
  // No status: enqueue order along the primary key; the time range bounds the ids (UUIDv7 starts with its ms).
  const after = cursor ? sql`j.id < ${cursor[0]}::uuid` : sql`true`;
  return sql`select ${jobRow} as job from sluice.jobs j
             where ${same} and ${after} and (${idBound(f.from)}::uuid is null or j.id >= ${idBound(f.from)}::uuid)
               and (${idBound(f.to)}::uuid is null or j.id < ${idBound(f.to)}::uuid)
             order by j.id desc limit ${limit}`;
}

/** The smallest UUIDv7 of an instant (ms): ids made at or after it sort at or after it. */
function idBound(iso: string | null): string | null {
  if (iso === null) return null;
  const hex = Math.max(0, Math.min(+new Date(iso), 2 ** 48 - 1)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`;
}

/** A job's replays (admin.replay), oldest first, along jobs_replay_idx. */
export async function jobReplays(db: Db, id: string): Promise<{ id: string; status: JobStatus; created_at: string }[]> {
  return rows(db, sql`select id, status, to_jsonb(created_at) #>> '{}' as created_at from sluice.jobs where replay_of = ${id}::uuid order by id`);
}

/** The columns a replay copies: the payload and what enqueue derived from it (priority, limits' and fairness keys). */
const copied = sql.raw('type, payload, priority, max_attempts, concurrency_key, rate_key, fairness_key');

/**
 * A new pending job, due now, with an ended job's payload (completed, dead or cancelled), linked to it by
 * replay_of; with `fromStep`, the original's steps that finished before that step are copied, so its
 * run replays them and runs that step and the rest again. Returns the new row (null: no such ended job)
 * and whether the step was found.
 */
export async function jobReplay(
  db: Db, id: string, newId: string, fromStep: string | null, types: string[] | null,
): Promise<{ previous: JobStatus | null; type: string | null; job: JobRow | null; step_found: boolean }> {
  const [result] = await rows<{ previous: JobStatus | null; type: string | null; job: JobRow | null; step_found: boolean }>(
    db,
    sql`with original as (select * from sluice.jobs where id = ${id}::uuid),
        step as (select finished_at from sluice.job_steps where job_id = ${id}::uuid and name = ${fromStep}::text),
        inserted as (
          insert into sluice.jobs (id, ${copied}, replay_of)
          select ${newId}::uuid, ${copied}, id from original
          where status in ('completed', 'dead', 'cancelled') and (${fromStep}::text is null or exists (select 1 from step)) and ${ofTypes(types)}
          returning *
        ),
        steps_copied as (
          insert into sluice.job_steps (job_id, name, result, duration_ms, finished_at)
          select (select id from inserted), s.name, s.result, s.duration_ms, s.finished_at from sluice.job_steps s
          where ${fromStep}::text is not null and exists (select 1 from inserted)
            and s.job_id = ${id}::uuid and s.finished_at < (select finished_at from step)
          returning 1
        )
        select (select status from original) as previous, (select type from original) as type, (select to_jsonb(i) - 'lock_token' from inserted i) as job,
               ${fromStep}::text is null or exists (select 1 from step) as step_found`,
  );
  return result!;
}

/** Replays (as jobReplay, no step) up to `ids.length` ended jobs of `status` and the filter (of `types`) that are no replay and have none, oldest first; how many. */
export async function jobsReplay(db: Db, f: RunFilterParams & { status: 'completed' | 'dead' | 'cancelled' }, ids: string[], types: string[] | null): Promise<number> {
  const c = sql.raw(`j.${TIMED[f.status]}`);
  const [result] = await rows<{ count: number }>(
    db,
    sql`with picked as (
          select j.id, row_number() over (order by ${c}, j.id) as n from ${typesOf(f.status, f.type)}, lateral (
            select j.id, ${c} from sluice.jobs j where j.status = ${f.status} and j.type = t.type and ${timeBounds(c, f)} and ${ofTypes(types)}
              -- Original runs not replayed yet (along jobs_replay_idx): a call after \`more\` goes on where
              -- the last stopped, and the replays it made (which end in these statuses too) are never taken.
              and j.replay_of is null and not exists (select 1 from sluice.jobs r where r.replay_of = j.id)
            order by ${c}, j.id limit ${ids.length}) j
          order by ${c}, j.id limit ${ids.length}
        ),
        inserted as (
          insert into sluice.jobs (id, ${copied}, replay_of)
          select (${`{${ids.join(',')}}`}::uuid[])[p.n], ${copied}, j.id from picked p join sluice.jobs j on j.id = p.id
          returning 1
        )
        select count(*)::int as count from inserted`,
  );
  return result!.count;
}
