/**
 * The enqueue statements (queries.ts holds the rest, under the same rules): one statement per batch,
 * values always parameters, usable inside a caller's transaction on every driver.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

export interface NewJobRow {
  id: string;
  type: string;
  /** The payload already serialized (enqueue measured its size from this very text). */
  payload_json: string;
  priority: number;
  max_attempts: number;
  /** Milliseconds from the database's now(); keeps the caller's clock out of scheduling. */
  delay_ms: number;
  /** Absolute time instead of delay_ms. */
  run_at: string | null;
  idempotency_key: string | null;
  /** Debounced rows go through jobDebounce, never the batch insert. */
  debounce_key: string | null;
  /** Flow limits' keys ('' for a limit over the whole type); null for a type without that limit. */
  concurrency_key: string | null;
  rate_key: string | null;
  /** The key a fair type's jobs are claimed round-robin under; null for a type without fairness. */
  fairness_key: string | null;
}

/** A text value as an element of an array literal: quoted, its quotes and backslashes escaped. */
function element(text: string | null): string {
  if (text === null) return 'NULL';
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

/**
 * The rows' columns as array literals; ids and numbers need no quoting, and the payloads, JSON already,
 * go in as one JSON array rather than escaped again. Most batches are one job type with default
 * options: a column whose rows all hold one value goes as that value alone, `{v}`, which the statement
 * spreads over every row, and a column of nulls as `{}`, so Postgres parses one value, not a thousand.
 */
function columns(jobs: NewJobRow[]) {
  const first = jobs[0]!;
  const ids: string[] = [];
  const payloads: string[] = [];
  let oneType = true;
  let onePriority = true;
  let oneMaxAttempts = true;
  let oneDelay = true;
  let noRunAt = true;
  let noKey = true;
  let noConcurrencyKey = true;
  let noRateKey = true;
  let noFairnessKey = true;
  // One pass, no callback per row: in a process that has enqueued only a few times this runs unoptimized.
  for (let i = 0; i < jobs.length; i++) {
    const r = jobs[i]!;
    ids.push(r.id);
    payloads.push(r.payload_json);
    oneType &&= r.type === first.type;
    onePriority &&= r.priority === first.priority;
    oneMaxAttempts &&= r.max_attempts === first.max_attempts;
    oneDelay &&= r.delay_ms === first.delay_ms;
    noRunAt &&= r.run_at === null;
    noKey &&= r.idempotency_key === null;
    noConcurrencyKey &&= r.concurrency_key === null;
    noRateKey &&= r.rate_key === null;
    noFairnessKey &&= r.fairness_key === null;
  }
  const values = <T>(one: boolean, pick: (r: NewJobRow) => T) => `{${(one ? [pick(first)] : jobs.map(pick)).join(',')}}`;
  return {
    ids: `{${ids.join(',')}}`,
    payloads: `[${payloads.join(',')}]`,
    types: values(oneType, (r) => element(r.type)),
    priorities: values(onePriority, (r) => r.priority),
    maxAttempts: values(oneMaxAttempts, (r) => r.max_attempts),
    delays: values(oneDelay, (r) => r.delay_ms),
    runAts: noRunAt ? '{}' : values(false, (r) => element(r.run_at)),
    keys: noKey ? '{}' : values(false, (r) => element(r.idempotency_key)),
    concurrencyKeys: noConcurrencyKey ? '{}' : values(false, (r) => element(r.concurrency_key)),
    rateKeys: noRateKey ? '{}' : values(false, (r) => element(r.rate_key)),
    // null: no row has one, and the statement leaves the column out (as it was before fairness).
    fairnessKeys: noFairnessKey ? null : values(false, (r) => element(r.fairness_key)),
  };
}

/**
 * Parallel arrays through unnest(), each payload taken from the JSON array by position: the server's
 * share of a 1,000-job insert is about a third smaller than from one JSON document of row objects
 * (jsonb_to_recordset), and the client sends under a third of the bytes. unnest() pads a short array
 * with nulls: a column sent as `{v}` (never null in a row) is `coalesce`d back to v; one sent as `{}`
 * is null in every row. The enqueue's traceparent, one for the whole batch, is one parameter, and only
 * when something traces: untraced, the statement is what it was before tracing existed.
 */
function insertRows(jobs: NewJobRow[], traceParent: string | undefined) {
  const c = columns(jobs);
  const traced = traceParent !== undefined;
  const fair = c.fairnessKeys !== null;
  return sql`insert into sluice.jobs (id, type, payload, priority, max_attempts, run_after, idempotency_key, concurrency_key, rate_key${fair ? sql`, fairness_key` : sql``}${traced ? sql`, trace_parent` : sql``})
        select r.id, coalesce(r.type, c.type[1]), c.payloads -> (r.n - 1)::int, coalesce(r.priority, c.priority[1]),
               coalesce(r.max_attempts, c.max_attempts[1]),
               coalesce(r.run_at, now() + coalesce(r.delay_ms, c.delay_ms[1]) * interval '1 millisecond'), r.idempotency_key,
               r.concurrency_key, r.rate_key${fair ? sql`, r.fairness_key` : sql``}${traced ? sql`, ${traceParent}::text` : sql``}
        from (select ${c.payloads}::jsonb as payloads, ${c.types}::text[] as type, ${c.priorities}::int[] as priority,
                     ${c.maxAttempts}::int[] as max_attempts, ${c.delays}::float8[] as delay_ms) c,
             unnest(${c.ids}::uuid[], c.type, c.priority, c.max_attempts, c.delay_ms, ${c.runAts}::timestamptz[], ${c.keys}::text[],
                    ${c.concurrencyKeys}::text[], ${c.rateKeys}::text[]${fair ? sql`, ${c.fairnessKeys}::text[]` : sql``})
               with ordinality as r(id, type, priority, max_attempts, delay_ms, run_at, idempotency_key, concurrency_key, rate_key, ${fair ? sql`fairness_key, ` : sql``}n)`;
}

/** Inserts rows that carry no idempotency key, in one statement; `traceParent`: the enqueue's span. */
export async function jobInsert(db: Db, jobs: NewJobRow[], traceParent?: string): Promise<void> {
  await rows(db, insertRows(jobs, traceParent));
}

/**
 * Inserts rows in one statement, skipping those whose idempotency key a job already holds; returns
 * the ids it inserted. (ON CONFLICT inserts speculatively, a cost jobInsert spares keyless batches.)
 */
export async function jobInsertIdempotent(db: Db, jobs: NewJobRow[], traceParent?: string): Promise<string[]> {
  const inserted = await rows<{ id: string }>(
    db,
    sql`${insertRows(jobs, traceParent)}
        on conflict (type, idempotency_key) where idempotency_key is not null do nothing
        returning id`,
  );
  return inserted.map((r) => r.id);
}

/**
 * A debounced enqueue, in its own transaction: first the key's transaction-scoped advisory lock (works
 * through PgBouncer's transaction mode), so two enqueues of one key take turns; then, in a statement
 * that sees what the other committed, the pending job of the key takes the new payload and start, or
 * the row is inserted. A running job of the key is not pending: the new one is inserted behind it.
 * (The lock's name joins type and key with chr(1), which no type holds, so no two pairs share it.)
 * A traced enqueue (`traceParent`) that replaces a pending job moves its link to itself, the enqueue
 * whose payload will run; an untraced one leaves the row's link as it was.
 */
export async function jobDebounce(db: Db, r: NewJobRow, traceParent?: string): Promise<{ id: string; replaced: boolean }> {
  await rows(db, sql`select pg_advisory_xact_lock(hashtextextended(${r.type} || chr(1) || ${r.debounce_key}, 0))`);
  const traced = traceParent !== undefined;
  const [result] = await rows<{ id: string; replaced: boolean }>(
    db,
    sql`with replaced as (
          update sluice.jobs set payload = ${r.payload_json}::jsonb, run_after = now() + ${r.delay_ms} * interval '1 millisecond',
                                 concurrency_key = ${r.concurrency_key}::text, rate_key = ${r.rate_key}::text,
                                 fairness_key = ${r.fairness_key}::text${traced ? sql`,
                                 trace_parent = ${traceParent}::text` : sql``}
          where id = (select id from sluice.jobs where type = ${r.type} and debounce_key = ${r.debounce_key} and status = 'pending'
                      order by id limit 1)
            and status = 'pending' -- re-checked after waiting on the row: a claim that won it leaves it alone
          returning id
        ),
        inserted as (
          insert into sluice.jobs (id, type, payload, priority, max_attempts, run_after, debounce_key, concurrency_key, rate_key, fairness_key, trace_parent)
          select ${r.id}::uuid, ${r.type}, ${r.payload_json}::jsonb, ${r.priority}, ${r.max_attempts},
                 now() + ${r.delay_ms} * interval '1 millisecond', ${r.debounce_key}, ${r.concurrency_key}::text, ${r.rate_key}::text,
                 ${r.fairness_key}::text, ${traceParent ?? null}::text
          where not exists (select 1 from replaced)
          returning id
        )
        select coalesce((select id from replaced), (select id from inserted)) as id, exists (select 1 from replaced) as replaced`,
  );
  return result!;
}

/** A (type, idempotency key) pair as one map key: keys hold no NUL (enqueue refuses them). */
export const typedKey = (type: string, key: string) => `${type}\0${key}`;

/** Ids of live jobs holding these idempotency keys, each within its type; keyed by typedKey(). */
export async function jobIdsByIdempotencyKey(db: Db, keys: { type: string; key: string }[]): Promise<Map<string, string>> {
  const found = await rows<{ id: string; type: string; idempotency_key: string }>(
    db,
    sql`select j.id, j.type, j.idempotency_key from sluice.jobs j
        join unnest(${sql.param(keys.map((k) => k.type))}::text[], ${sql.param(keys.map((k) => k.key))}::text[]) as k(type, key)
          on j.type = k.type and j.idempotency_key = k.key`,
  );
  return new Map(found.map((r) => [typedKey(r.type, r.idempotency_key), r.id]));
}
