/**
 * Every SQL statement of the queue, each a named function, split by topic: the drain's claim and outcomes
 * in core/queries-drain.ts (its walk of the queue in core/queries-walk.ts, flow limits' part in
 * core/queries-flow.ts, the set-aside of a bad row in core/queries-set-aside.ts, the attempt log's in
 * core/queries-attempts.ts), enqueue's in
 * core/queries-enqueue.ts, steps' in core/queries-steps.ts (their durations' in
 * core/queries-step-timings.ts), the drains' coordination in
 * core/queries-coordination.ts, stats in housekeeping/queries-stats.ts, the tick's housekeeping and alerts in
 * housekeeping/queries-housekeeping.ts and housekeeping/queries-alerts.ts, completed runs' retention in
 * housekeeping/queries-retention.ts, the history's in
 * housekeeping/queries-history.ts, schedules' in schedules/queries-schedules.ts, pause's in
 * ops/queries-types.ts, the admin API's in ops/queries-admin.ts, the runs list's and replays' in
 * ops/queries-runs.ts, the HTTP surface's secrets in
 * ops/queries-auth.ts. Here: what they share. Nothing else in Sluice writes SQL.
 * Each is a single statement, so all of them work on every driver, with or without transactions,
 * and inside a caller's transaction. Values are always parameters.
 */
import { DrizzleQueryError, type SQL, sql } from 'drizzle-orm';
import type { Db } from './db.js';

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

export const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

/** A job row is of one of these types; null: any type. */
export const ofTypes = (types: string[] | null) =>
  sql`(${types === null ? null : sql.param(types)}::text[] is null or type = any(${types === null ? null : sql.param(types)}::text[]))`;
