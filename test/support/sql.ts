import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../lib/queue/index.js';

/** Rows of a raw query (tests may read the table directly; the library never does outside queries.ts). */
export async function select<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

export async function countJobs(db: Db, where: SQL = sql`true`): Promise<number> {
  const [row] = await select<{ n: number }>(db, sql`select count(*)::int as n from sluice.jobs where ${where}`);
  return row!.n;
}

export interface JobRow {
  id: string;
  type: string;
  status: string;
  attempts: number;
  max_attempts: number;
  priority: number;
  last_error: string | null;
  lock_token: string | null;
  payload: unknown;
  /** run_after - now(), in ms, by the database's clock. */
  due_in_ms: number;
  lease_left_ms: number | null;
}

export async function jobRow(db: Db, id: string): Promise<JobRow | undefined> {
  const [row] = await select<JobRow>(
    db,
    sql`select id, type, status, attempts, max_attempts, priority, last_error, lock_token, payload,
               (extract(epoch from run_after - now()) * 1000)::float8 as due_in_ms,
               (extract(epoch from locked_until - now()) * 1000)::float8 as lease_left_ms
        from sluice.jobs where id = ${id}`,
  );
  return row;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A promise with its resolve function, for handlers that wait on the test. */
export function latch<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Jobs not completed: what is left of a queue whose completed runs an instance keeps as history. */
export const UNFINISHED = sql`status <> 'completed'`;
