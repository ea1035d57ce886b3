/**
 * The statements of per-type controls (issue 10): pause and resume. Same rules as queries.ts.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

export interface PausedRow {
  type: string;
  paused_at: string;
}

/** Pauses a type (again: keeps the first pause's time); returns its row. */
export async function typePause(db: Db, type: string): Promise<PausedRow> {
  const [row] = await rows<PausedRow>(
    db,
    sql`insert into sluice.paused_types as p (type) values (${type})
        on conflict (type) do update set paused_at = p.paused_at
        returning type, to_jsonb(paused_at) #>> '{}' as paused_at`,
  );
  return row!;
}

/** Resumes a type; whether it was paused. */
export async function typeResume(db: Db, type: string): Promise<boolean> {
  const removed = await rows<{ type: string }>(db, sql`delete from sluice.paused_types where type = ${type} returning type`);
  return removed.length > 0;
}

/** Every paused type, oldest pause first. */
export async function typesPaused(db: Db): Promise<PausedRow[]> {
  return rows<PausedRow>(db, sql`select type, to_jsonb(paused_at) #>> '{}' as paused_at from sluice.paused_types order by paused_at, type`);
}
