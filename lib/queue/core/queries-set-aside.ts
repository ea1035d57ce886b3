/**
 * The statements that set a bad row aside (set-aside.ts; queries.ts states the rules): the job at the
 * head of the claim order, and the write that makes one job dead with the error its row caused.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import { claimWalk, typesTable } from './queries-walk.js';

/**
 * The first due job in claim order, read without locking it: the job a claim of one took when it
 * failed. Only what the claim's walk reads, so a row whose data breaks the claim's writes is found here.
 */
export async function jobClaimHead(db: Db, types: string[]): Promise<string | null> {
  const [head] = await rows<{ id: string }>(db, claimWalk({ from: typesTable(types), columns: sql`id`, limit: 1 }));
  return head?.id ?? null;
}

/**
 * Makes one job dead with `error`, touching no column but its state, so it succeeds whatever the rest
 * of the row holds. A pending job (token null) only while still pending; a claimed one only while its
 * lease token still matches. Whether it applied.
 */
export async function jobSetAside(db: Db, id: string, token: string | null, error: string): Promise<boolean> {
  const done = await rows<{ id: string }>(
    db,
    sql`update sluice.jobs set status = 'dead', dead_at = now(), last_error = ${error.replaceAll('\0', '')},
               locked_until = null, lock_token = null
        where id = ${id}::uuid
          and (case when ${token}::uuid is null then status = 'pending' else lock_token = ${token}::uuid end)
        returning id`,
  );
  return done.length > 0;
}
