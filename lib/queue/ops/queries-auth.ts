/**
 * The statements behind the HTTP surface's secrets: dashboard sessions and the per-address throttle of
 * wrong secrets (schema.ts: sessions, auth_failures). Same rules as queries.ts: one statement each,
 * values always parameters. Each looks up or writes one row by its primary key; pruning rides along,
 * a few rows at a time, so neither table grows with time.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

/** Rows of ended windows (or expired sessions) one write deletes at most: each write adds one row at
 *  most, so stale rows never pile up, and no write waits on a large delete. */
const PRUNE_BATCH = 20;

const ms = (n: number) => sql`${n}::float8 * interval '1 millisecond'`;

/** Records a new session, valid `ttlMs` from now by the server's clock; deletes a few expired ones. */
export async function sessionStart(db: Db, id: string, ttlMs: number): Promise<void> {
  await rows(
    db,
    sql`with pruned as (
          delete from sluice.sessions where id = any(array(
            select id from sluice.sessions where expires_at <= now() limit ${PRUNE_BATCH}))
        )
        insert into sluice.sessions (id, expires_at) values (${id}, now() + ${ms(ttlMs)})`,
  );
}

/** Whether a session exists and has not expired. */
export async function sessionAlive(db: Db, id: string): Promise<boolean> {
  const found = await rows(db, sql`select 1 from sluice.sessions where id = ${id} and expires_at > now()`);
  return found.length > 0;
}

/** Ends a session (logout): its cookie is refused from now on, wherever it is sent. */
export async function sessionEnd(db: Db, id: string): Promise<void> {
  await rows(db, sql`delete from sluice.sessions where id = ${id}`);
}

export interface ThrottleLimit {
  /** Wrong secrets an address may send per window. */
  maxFailures: number;
  windowMs: number;
}

/** ms until the window ends, rounded up, for Retry-After. */
const retryAfter = (windowMs: number) => sql`ceil(extract(epoch from window_start + ${ms(windowMs)} - now()) * 1000)::float8 as retry_after_ms`;

/**
 * Counts a wrong secret from `client` (a new window when its last one has ended) and deletes a few rows
 * of ended windows. Returns the address's failures in its window, this one included, and when the
 * window ends.
 */
export async function authFailureRecord(db: Db, client: string, limit: ThrottleLimit): Promise<{ failures: number; retry_after_ms: number }> {
  const since = sql`now() - ${ms(limit.windowMs)}`;
  const [row] = await rows<{ failures: number; retry_after_ms: number }>(
    db,
    // The prune skips this client's own row: one statement cannot both delete and upsert a row.
    sql`with pruned as (
          delete from sluice.auth_failures where client = any(array(
            select client from sluice.auth_failures where window_start <= ${since} and client <> ${client} limit ${PRUNE_BATCH}))
        )
        insert into sluice.auth_failures as f (client, window_start, failures) values (${client}, now(), 1)
        on conflict (client) do update set
          window_start = case when f.window_start <= ${since} then now() else f.window_start end,
          failures = case when f.window_start <= ${since} then 1 else f.failures + 1 end
        returning failures, ${retryAfter(limit.windowMs)}`,
  );
  return row!;
}

/** When `client` has used up its wrong secrets: ms until its window ends; otherwise null. */
export async function authThrottled(db: Db, client: string, limit: ThrottleLimit): Promise<number | null> {
  const [row] = await rows<{ retry_after_ms: number }>(
    db,
    sql`select ${retryAfter(limit.windowMs)} from sluice.auth_failures
        where client = ${client} and failures >= ${limit.maxFailures} and window_start > now() - ${ms(limit.windowMs)}`,
  );
  return row ? row.retry_after_ms : null;
}
