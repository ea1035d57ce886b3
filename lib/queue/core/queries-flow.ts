/**
 * Flow limits' statements (issue 10; queries.ts states the rules): the claim's part that takes
 * concurrency and rate slots (sluice.flow_slots, see schema.ts), the outcome write's part that frees
 * them, and the tick's pruning of spent ones.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import type { JobDefinition } from './jobs.js';
import { rows } from '../queries.js';
import { claimWalk, type FairWalk } from './queries-walk.js';

/** The limits of the limited types among a drain's definitions, as parallel arrays (null: no such limit). */
export interface FlowLimits {
  types: string[];
  concurrency: (number | null)[];
  rate: (number | null)[];
  periodMs: (number | null)[];
}

/** The flow limits of these definitions; null when none has any. */
export function flowLimitsOf(jobs: readonly JobDefinition[]): FlowLimits | null {
  const limited = jobs.filter((j) => j.concurrency !== null || j.rateLimit !== null);
  if (limited.length === 0) return null;
  return {
    types: limited.map((j) => j.type),
    concurrency: limited.map((j) => j.concurrency?.limit ?? null),
    rate: limited.map((j) => j.rateLimit?.limit ?? null),
    periodMs: limited.map((j) => j.rateLimit?.periodMs ?? null),
  };
}

/**
 * Written with the outcomes: a settled job's concurrency slot is free again. Only its own claim's: an
 * outcome that lost its lease finds its slot expired with it (both end at the claim's lease), and never
 * touches the slot of the job's next claim, which holds another token.
 */
export const flowFreedCte = sql`freed as (
      delete from sluice.flow_slots s using outcome o
      where s.limiter = 'concurrency' and s.job_id = o.id and s.token = o.token
        -- A rescue that finds the lease renewed is not written (queries-drain.ts): the slot stays held.
        and (o.rescue is not true or s.held_until < now())
      returning s.job_id
    )`;

/**
 * The slots of one limiter wanted by `want` (id, type, key, rank within its key), taken by an upsert:
 * the rank-th job of a key pairs with the rank-th slot number this statement's snapshot sees free, and
 * the upsert takes it only if it is still free on the latest row version (ON CONFLICT locks that row
 * and re-checks), so two drains never hold one slot. Rows go in slot order, so two claims wait on each
 * other's slots in one order and cannot deadlock. Numbers past what the key needs are never generated.
 */
function takeSlots(name: string, limiter: 'concurrency' | 'rate', want: string, limitColumn: SQL, heldUntil: SQL, token: string): SQL {
  const held = (type: SQL, key: SQL) =>
    sql`sluice.flow_slots s where s.type = ${type} and s.limiter = ${limiter} and s.key = ${key} and s.held_until > now()`;
  return sql`${sql.raw(`${name}_free`)} as (
      select w.type, w.key, n, row_number() over (partition by w.type, w.key order by n) as rank
      from (select type, key, count(*) as wanted from ${sql.raw(want)} group by type, key) w
      join limits l on l.type = w.type
      cross join lateral generate_series(1, least(${limitColumn}, w.wanted + (select count(*) from ${held(sql`w.type`, sql`w.key`)}))::int) n
      where not exists (select 1 from ${held(sql`w.type`, sql`w.key`)} and s.slot = n)
    ),
    ${sql.raw(`${name}_taken`)} as (
      insert into sluice.flow_slots as f (type, limiter, key, slot, held_until, job_id, token)
      select w.type, ${limiter}, w.key, free.n, ${heldUntil}, w.id, ${token}::uuid
      from ${sql.raw(want)} w join ${sql.raw(`${name}_free`)} free on free.type = w.type and free.key = w.key and free.rank = w.rank
      join limits l on l.type = w.type
      order by w.type, w.key, free.n
      on conflict (type, limiter, key, slot) do update
        set held_until = excluded.held_until, job_id = excluded.job_id, token = excluded.token
        where f.held_until <= now()
      returning f.job_id
    )`;
}

/** What the claim needs of the flow part: its CTEs, the ids it picks, and its output columns. */
export interface FlowClaim {
  ctes: SQL;
  pick: SQL;
  outputs: SQL;
}

/** Slots of one limiter held now for a job row's key (walks the key's rows of the primary key). */
const heldFor = (limiter: 'concurrency' | 'rate', key: SQL) =>
  sql`(select count(*) from sluice.flow_slots s where s.type = t.type and s.limiter = ${limiter} and s.key = ${key} and s.held_until > now())`;

/**
 * The claim's picking with flow limits, still one statement. The walk (claimWalk, a type at a time)
 * passes over jobs of keys whose every concurrency slot is held, so a saturated key cannot fill a claim
 * with jobs it cannot start. A walked job whose key's rate slots are all held is deferred instead: its
 * run_after moves to when the key's first slot frees, so later claims do not walk it again while the
 * window lasts (50,000 held keys cost one walk a window, not one a claim). The other walked jobs take
 * rate slots, those that got one (or need none) concurrency slots, and only jobs with every slot they
 * need are claimed. A job refused a slot stays pending, attempts untouched. Rate slots are taken first:
 * one taken for a job that then finds no concurrency slot is a start counted that did not happen (a
 * window under-used, never over-used), while a concurrency slot taken for a job that did not start
 * would block its key for a whole lease.
 */
export function flowClaim(p: { token: string; limit: number; types: string[]; fair?: FairWalk | null }, f: FlowLimits, lease: SQL): FlowClaim {
  const ckey = sql`coalesce(concurrency_key, '')`;
  const rkey = sql`coalesce(rate_key, '')`;
  // Every type the drain claims, with its limits (null: none), for the walk.
  const all = { types: p.types, c: p.types.map((t) => f.concurrency[f.types.indexOf(t)] ?? null), r: p.types.map((t) => f.rate[f.types.indexOf(t)] ?? null) };
  // Jobs enqueued before their type had a limit carry no key: they count under the whole type's ('').
  const concurrencyFree = sql`(t.c_limit is null or ${heldFor('concurrency', ckey)} < t.c_limit)`;
  const walk = (limit: number, filter: SQL, columns: SQL, lock = false) => claimWalk({
    from: sql`unnest(${sql.param(all.types)}::text[], ${sql.param(all.c)}::int[], ${sql.param(all.r)}::int[]) as t(type, c_limit, r_limit)`,
    columns, limit, filter, lock, fair: lock ? p.fair : null,
  });
  const ranked = (key: string) => sql`row_number() over (partition by c.type, c.${sql.raw(key)} order by c.priority desc, c.run_after)`;
  const walked = walk(p.limit, concurrencyFree, sql`id, type, ${ckey} as ckey, ${rkey} as rkey,
            t.r_limit is not null and ${heldFor('rate', rkey)} >= t.r_limit as r_full`, true);
  const ctes = sql`limits as (
      select * from unnest(${sql.param(f.types)}::text[], ${sql.param(f.concurrency)}::int[], ${sql.param(f.rate)}::int[],
                           ${sql.param(f.periodMs)}::float8[]) as l(type, c_limit, r_limit, period_ms)
    ),
    walked as (${walked}),
    deferred as (
      update sluice.jobs j set run_after = greatest(j.run_after, (
        select min(s.held_until) from sluice.flow_slots s
        where s.type = w.type and s.limiter = 'rate' and s.key = w.rkey and s.held_until > now()))
      from walked w where w.r_full and j.id = w.id
      returning j.id, j.run_after
    ),
    candidates as (select * from walked where not r_full),
    -- Rate slots only for jobs that can also get a concurrency slot (as far as this snapshot sees): a
    -- rate slot taken for a job that then waits for concurrency is a start counted that did not happen.
    r_want as (
      select c.id, c.type, c.rkey as key, ${ranked('rkey')} as rank from (
        select c.*, ${ranked('ckey')} as c_rank, l.c_limit - (select count(*) from sluice.flow_slots s where s.type = c.type
                 and s.limiter = 'concurrency' and s.key = c.ckey and s.held_until > now()) as c_free
        from candidates c join limits l on l.type = c.type where l.r_limit is not null
      ) c where c.c_free is null or c.c_rank <= c.c_free
    ),
    ${takeSlots('r', 'rate', 'r_want', sql`l.r_limit`, sql`now() + l.period_ms * interval '1 millisecond'`, p.token)},
    c_want as (
      select c.id, c.type, c.ckey as key, ${ranked('ckey')} as rank
      from candidates c join limits l on l.type = c.type
      where l.c_limit is not null and (l.r_limit is null or c.id in (select job_id from r_taken))
    ),
    ${takeSlots('c', 'concurrency', 'c_want', sql`l.c_limit`, lease, p.token)},
    claimable as (
      select c.id from candidates c left join limits l on l.type = c.type
      where (l.r_limit is null or c.id in (select job_id from r_taken))
        and (l.c_limit is null or c.id in (select job_id from c_taken))
    )`;
  const outputs = sql`case when (select count(*) from claimed) < ${p.limit} then
             exists (select 1 from candidates c where c.id not in (select id from claimable))
             or exists (select 1 from deferred)
             -- Or a due job of a key whose concurrency slots are all held, walked for until the first.
             ${f.concurrency.some((c) => c !== null) ? sql`or exists (${walk(1, sql`not ${concurrencyFree}`, sql`id`)})` : sql``}
           else false end as held_back,
           -- The soonest a rate window opens for a held-back job: a deferred job comes due, or at the
           -- latest a period after this claim took the key's last free slots.
           (select (extract(epoch from least(
              (select min(run_after) from deferred),
              (select now() + min(l.period_ms) * interval '1 millisecond' from r_want w join limits l on l.type = w.type
               where w.id not in (select job_id from r_taken))) - now()) * 1000)::float8) as rate_wait_ms,
           (select count(*) from deferred)::int as deferred`;
  return { ctes, pick: sql`select id from claimable`, outputs };
}

/**
 * Deletes slots spent for over an hour (rate windows long past, concurrency slots whose job vanished
 * without an outcome), at most `limit` of them: keys that never come back would otherwise keep their
 * rows. Any slot past held_until is free, so deleting one never frees a slot in use.
 */
export async function flowSlotsPrune(db: Db, limit: number): Promise<number> {
  const deleted = await rows<{ n: number }>(
    db,
    sql`with gone as (
          delete from sluice.flow_slots where ctid = any(array(
            select ctid from sluice.flow_slots where held_until < now() - interval '1 hour' limit ${limit}))
          returning 1)
        select count(*)::int as n from gone`,
  );
  return deleted[0]!.n;
}

export interface HeldSlots {
  type: string;
  limiter: 'concurrency' | 'rate';
  /** Slots held now: running jobs (concurrency), or starts within the last period (rate). */
  held: number;
  /** Distinct keys holding them. */
  keys: number;
}

/** Slots held now, per type and limiter: what the admin's types list shows beside each limit. */
export async function flowSlotsHeld(db: Db): Promise<HeldSlots[]> {
  return rows<HeldSlots>(
    db,
    sql`select type, limiter, count(*)::int as held, count(distinct key)::int as keys from sluice.flow_slots
        where held_until > now() group by type, limiter order by type, limiter`,
  );
}
