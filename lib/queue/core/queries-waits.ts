/**
 * Child jobs' and events' statements (queries.ts states the rules): an invoke's child insert, a wait's
 * event lookup, the write that lets a run go waiting, and sendEvent's. A waiting job is made due by a
 * child's end (the outcome write, queries-drain.ts), an event (eventSend), or its deadline (the cron
 * tick, queries-housekeeping.ts).
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import type { NewJobRow } from './queries-enqueue.js';

/**
 * What a delivery (a child's end, an event) sets on the job `p` it is for: a waiting one is due at once,
 * and its count moves on whatever its state, so a run about to write its wait sees it (jobWait). Used
 * by updates that find `p` by id alone: the update then follows the row's latest version.
 */
export const delivery = sql`deliveries = p.deliveries + 1,
        status = case when p.status = 'waiting' then 'pending' else p.status end,
        run_after = case when p.status = 'waiting' then now() else p.run_after end,
        wait_for = case when p.status = 'waiting' then null else p.wait_for end`;

/** An event's lock: sendEvent holds it shared, a run about to wait for the event holds it alone (eventLocks). */
const eventLock = (tag: SQL) => sql`hashtextextended('sluice.event' || chr(1) || ${tag}, 0)`;

/** What a waiting job's wait_for holds for an event it waits for (chr(1) is in no name or key). */
export const eventTag = (name: string, key: string) => `${name}\u0001${key}`;

/**
 * Inserts an invoke's child (awaited: its row is kept when it completes, for its parent to read), once
 * per parent and name: a second insert finds the first. Runs in the transaction that records the
 * invoke as a step of the parent, so the child exists exactly when the parent's record of it does.
 */
export async function childInsert(db: Db, r: NewJobRow, parentId: string, parentStep: string, traceParent?: string): Promise<string | undefined> {
  const [row] = await rows<{ id: string }>(
    db,
    sql`with inserted as (
          insert into sluice.jobs (id, type, payload, priority, max_attempts, run_after, concurrency_key, rate_key, fairness_key, trace_parent, awaited, parent_id, parent_step)
          values (${r.id}::uuid, ${r.type}, ${r.payload_json}::jsonb, ${r.priority}, ${r.max_attempts},
                  coalesce(${r.run_at}::timestamptz, now() + ${r.delay_ms}::float8 * interval '1 millisecond'),
                  ${r.concurrency_key}, ${r.rate_key}, ${r.fairness_key}, ${traceParent ?? null}, true, ${parentId}::uuid, ${parentStep})
          on conflict (parent_id, parent_step) where parent_id is not null do nothing
          returning id
        )
        select id from inserted
        union all select id from sluice.jobs where parent_id = ${parentId}::uuid and parent_step = ${parentStep} and not exists (select 1 from inserted)`,
  );
  return row?.id;
}

/** A child as its parent's invoke sees it. */
export interface ChildRow {
  status: string;
  result: unknown;
  last_error: string | null;
}

/** A job's children, by id, along jobs_parent_idx (a child deleted by hand is absent). */
export async function childrenOf(db: Db, parentId: string): Promise<Map<string, ChildRow>> {
  const found = await rows<ChildRow & { id: string }>(
    db,
    sql`select id, status, result, last_error from sluice.jobs where parent_id = ${parentId}::uuid`,
  );
  return new Map(found.map((c) => [c.id, c]));
}

/** An event a wait takes. */
export interface EventRow {
  id: string;
  data: unknown;
}

/**
 * The first event of `name` and `key` sent since the job was enqueued, of those not in `taken` (the
 * events the job's earlier waits took): along events_name_key_idx, in send order.
 */
export async function eventFind(db: Db, jobId: string, name: string, key: string, taken: string[]): Promise<EventRow | undefined> {
  const [row] = await rows<EventRow>(
    db,
    sql`select e.id, e.data from sluice.events e
        where e.name = ${name} and e.key = ${key} and e.id <> all(${`{${taken.join(',')}}`}::uuid[])
          and e.sent_at >= (select created_at from sluice.jobs where id = ${jobId}::uuid)
        order by e.id limit 1`,
  );
  return row;
}

/**
 * Takes the locks of the events a run is about to wait for, alone, until its transaction ends: an
 * event sent meanwhile (in a caller's transaction, perhaps) is either committed before the wait's
 * write looks for it, or sent after it, when it finds the job waiting. In tag order: two runs cannot
 * deadlock.
 */
export async function eventLocks(db: Db, tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await rows(db, sql`select pg_advisory_xact_lock(${eventLock(sql`t`)}) from unnest(${sql.param([...tags].sort())}::text[]) as t`);
}

/** What a run waits for when it lets go of its job. */
export interface WaitWrite {
  id: string;
  token: string;
  /** The delivery count the run read before its waits looked: a delivery since makes the job pending, not waiting. */
  deliveries: number;
  /** Events waited for: their tags (eventTag), names and keys; and the events the job already took. */
  tags: string[];
  names: string[];
  keys: string[];
  taken: string[];
  /** When the wait ends anyway (epoch ms): a wait's timeout, or a time to look again. */
  untilMs: number;
  /** The run's latest ctx.progress() value not yet written (JSON text). */
  progress: string | null;
  /** The type has a concurrency limit: the run's slot is freed. */
  concurrency: boolean;
}

/**
 * The run lets go of its job, its attempt given back, to wait: waiting until `untilMs`, or pending at
 * once when a delivery came since the run read deliveries or an awaited event is there. Only while the run
 * holds the job and no cancel was asked for. The job's new state, or undefined when nothing was
 * written (the lease was lost, or a cancel came: the usual outcome write settles it).
 */
export async function jobWait(db: Db, w: WaitWrite): Promise<'waiting' | 'pending' | undefined> {
  const arrived = w.tags.length === 0 ? sql`false` : sql`exists (
      select 1 from unnest(${sql.param(w.names)}::text[], ${sql.param(w.keys)}::text[]) as x(name, key), lateral (
        select 1 from sluice.events e where e.name = x.name and e.key = x.key and e.sent_at >= j.created_at
          and e.id <> all(${`{${w.taken.join(',')}}`}::uuid[]) limit 1) found)`;
  const due = sql`(j.deliveries <> ${w.deliveries} or ${arrived})`;
  const [row] = await rows<{ status: 'waiting' | 'pending' }>(
    db,
    sql`with waited as (
          update sluice.jobs j set
            status = case when ${due} then 'pending' else 'waiting' end,
            run_after = case when ${due} then now() else to_timestamp(${w.untilMs}::float8 / 1000) end,
            wait_for = case when ${due} then null else ${sql.param(w.tags)}::text[] end,
            attempts = greatest(j.attempts - 1, 0),
            progress = coalesce(${w.progress}::jsonb, j.progress),
            locked_until = null, lock_token = null
          where j.id = ${w.id}::uuid and j.lock_token = ${w.token}::uuid and j.cancel_requested_at is null
          returning j.status
        )${w.concurrency ? sql`,
        freed as (
          delete from sluice.flow_slots s where s.limiter = 'concurrency' and s.job_id = ${w.id}::uuid and s.token = ${w.token}::uuid
            and exists (select 1 from waited)
          returning 1
        )` : sql``}
        select status from waited`,
  );
  return row?.status;
}

/**
 * Sends an event: stores it and makes the jobs waiting for it due. Its lock first, in a statement of
 * its own (the update must see waits committed while it queued for the lock), held to the end of the
 * transaction: `db` is one (the caller's, or eventSend's caller opens one). The id, and how many
 * waiting jobs it was delivered to (made due).
 */
export async function eventSend(db: Db, id: string, name: string, key: string, dataJson: string | null): Promise<number> {
  await rows(db, sql`select pg_advisory_xact_lock_shared(${eventLock(sql`${eventTag(name, key)}::text`)})`);
  const [row] = await rows<{ delivered: number }>(
    db,
    sql`with sent as (
          insert into sluice.events (id, name, key, data) values (${id}::uuid, ${name}, ${key}, ${dataJson}::jsonb) returning id
        ),
        delivered as (
          update sluice.jobs set status = 'pending', run_after = now(), wait_for = null, deliveries = deliveries + 1
          where status = 'waiting' and wait_for @> array[${eventTag(name, key)}]::text[]
          returning id
        )
        select (select count(*) from delivered)::int as delivered from sent`,
  );
  return row!.delivered;
}
