/**
 * Results' statements (queries.ts states the rules): what a caller awaiting a job reads of it.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import type { JobStatus } from '../schema.js';

export interface ResultRow {
  type: string;
  status: JobStatus;
  result: unknown;
  last_error: string | null;
}

/**
 * A job's state and result, marking it awaited while it has yet to end (only the first call writes):
 * its completion then keeps the row, result or not, for the result retention. Undefined: no such job.
 */
export async function jobResultRead(db: Db, id: string): Promise<ResultRow | undefined> {
  const [found] = await rows<ResultRow>(
    db,
    sql`with marked as (
          update sluice.jobs set awaited = true
          where id = ${id}::uuid and not awaited and status in ('pending', 'running', 'waiting')
          returning id
        )
        select type, status, result, last_error from sluice.jobs where id = ${id}::uuid`,
  );
  return found;
}
