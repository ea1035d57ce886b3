/**
 * The claim's walk (see queries.ts for the rules): due pending jobs of a drain's own types in claim
 * order, one type at a time, and a fair type's one key at a time. The claim, its empty-claim lookup,
 * the fan-out's count and the set-aside's head all read the queue through it.
 */
import { type SQL, sql } from 'drizzle-orm';

/** These types, one row each, as the from-item `t(type)` that claimWalk walks. */
export const typesTable = (types: string[]) => sql`unnest(${sql.param(types)}::text[]) as t(type)`;

/** A drain's fair types, each with the key its round-robin resumes after ('' at the start of a pass). */
export interface FairWalk {
  types: string[];
  after: string[];
  /** Look for the type's jobs without a key (enqueued before it had fairness) at the head of its order. */
  unkeyed: boolean[];
}

export interface ClaimWalk {
  /** Binds `t`, with a `type` column: typesTable, or a table of types with their limits. */
  from: SQL;
  /** Read from sluice.jobs beside priority and run_after (and fair_key and fair_rank with `fair`). */
  columns: SQL;
  limit: number;
  /** Only jobs due now (default), or every pending one. */
  due?: boolean;
  /** More conditions on the job row; may use t's columns. */
  filter?: SQL;
  /** Lock the rows FOR UPDATE SKIP LOCKED (up to `limit` a type; rows past the merged limit are unlocked
   *  at the statement's end). */
  lock?: boolean;
  /** Fair types among them: their jobs are walked one key at a time (see fairBranch). */
  fair?: FairWalk | null;
}

/**
 * Pending jobs in claim order (priority, then run_after), walked one type at a time along
 * jobs_claim_idx (type, priority desc, run_after) and merged: rows of other types (another app on the
 * database), of paused types, and (with Postgres 18's skip scan) jobs not yet due are never read, so a
 * claim costs the same whatever else the table holds. With fair types, each type and each key of a fair
 * type takes its turn within a priority: the merge orders by priority, then rank within the type or key.
 */
export function claimWalk(p: ClaimWalk): SQL {
  const where = sql`status = 'pending' and type = t.type${p.due === false ? sql`` : sql` and run_after <= now()`}${p.filter ? sql` and ${p.filter}` : sql``}`;
  const order = sql`order by priority desc nulls last, run_after`;
  const lock = p.lock ? sql` for update skip locked` : sql``;
  const plain = sql`select ${p.columns}, priority, run_after from sluice.jobs where ${where} ${order} limit ${p.limit}${lock}`;
  if (!p.fair || p.fair.types.length === 0) {
    return sql`select j.* from ${p.from} cross join lateral (${plain}) j
        where t.type not in (select type from sluice.paused_types)
        order by j.priority desc nulls last, j.run_after limit ${p.limit}`;
  }
  return sql`select j.* from ${p.from}
        left join unnest(${sql.param(p.fair.types)}::text[], ${sql.param(p.fair.after)}::text[], ${sql.param(p.fair.unkeyed)}::boolean[])
          as f(type, after, unkeyed) on f.type = t.type
        cross join lateral (
          select x.*, null::text as fair_key, row_number() over (${order}) as fair_rank from (${plain}) x where f.type is null
          union all
          ${fairBranch(p, where, order, lock)}
        ) j
        where t.type not in (select type from sluice.paused_types)
        order by j.priority desc nulls last, j.fair_rank, j.run_after limit ${p.limit}`;
}

/**
 * A fair type's jobs: its keys found by skipping along jobs_fair_idx (one index probe a key, at most
 * `limit` keys, starting after f.after and wrapping around), an equal share of the claim from each, and
 * jobs enqueued before the type had fairness (no key) from the head of its claim order, as one more key.
 */
function fairBranch(p: ClaimWalk, where: SQL, order: SQL, lock: SQL): SQL {
  const next = (bound: SQL) => sql`(select fairness_key from sluice.jobs
            where status = 'pending' and type = t.type and fairness_key ${bound} order by fairness_key limit 1)`;
  return sql`select y.*, row_number() over (partition by y.fair_key ${order}) as fair_rank from (
          with recursive after_keys(key, n) as (
            select ${next(sql`> f.after`)}, 1
            union all
            select ${next(sql`> a.key`)}, a.n + 1 from after_keys a where a.key is not null and a.n < ${p.limit}
          ), start_keys(key, n) as (
            select ${next(sql`is not null`)}, 1
            union all
            select ${next(sql`> s.key`)}, s.n + 1 from start_keys s where s.key is not null and s.key <= f.after and s.n < ${p.limit}
          ), keys as (
            (select key from after_keys where key is not null order by n)
            union all
            (select key from start_keys where key is not null and key <= f.after order by n)
            limit ${p.limit}
          )
          select k_rows.* from keys k cross join lateral (
            select ${p.columns}, priority, run_after, fairness_key as fair_key from sluice.jobs
            where ${where} and fairness_key = k.key ${order}
            limit (select greatest(1, ceil(${p.limit}::float8 / count(*)))::int from keys)${lock}
          ) k_rows
          union all
          select u.* from (
            select ${p.columns}, priority, run_after, null::text as fair_key from sluice.jobs where ${where} and id in (
              select w.id from (select id, fairness_key from sluice.jobs where ${where} ${order} limit ${p.limit}) w
              where w.fairness_key is null)${lock}
          ) u where f.unkeyed
        ) y where f.type is not null`;
}
