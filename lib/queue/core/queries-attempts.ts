/**
 * A job's attempt log (see ../queries.ts for the rules): the part of an outcome write, or of a human's
 * retry, that records the attempt ending there. The last attempt stays in the row itself (started_at,
 * its end, last_error): job-view.ts puts the two together.
 */
import { type SQL, sql } from 'drizzle-orm';

/** Attempts a job's attempt_log keeps (the last ones; the row's own last attempt is one more), and the
 *  characters of each one's error: a job retried a thousand times stays one small row. */
export const ATTEMPT_LOG_LIMIT = 19;
export const ATTEMPT_ERROR_CHARS = 2_000;

/** `row`'s attempt_log with its last attempt (started_at to `ended`) appended, the oldest dropped past the limit. */
export const attemptLogged = (row: SQL, ended: SQL, outcome: SQL, error: SQL) => sql`(
          case when jsonb_array_length(coalesce(${row}.attempt_log, '[]')) >= ${sql.raw(String(ATTEMPT_LOG_LIMIT))}
               then ${row}.attempt_log - 0 else coalesce(${row}.attempt_log, '[]') end
          || jsonb_build_array(jsonb_build_object('attempt', ${row}.attempts, 'startedAt', ${row}.started_at, 'endedAt', ${ended},
                                                  'outcome', ${outcome}, 'error', left(${error}, ${sql.raw(String(ATTEMPT_ERROR_CHARS))}))))`;
