/**
 * The statements of schedules (issue 10). Same rules as queries.ts.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';

/** The last slot of each named schedule that has one (epoch ms). */
export async function scheduleLastSlots(db: Db, names: string[]): Promise<Map<string, number>> {
  const found = await rows<{ name: string; last_slot_ms: number }>(
    db,
    sql`select name, (extract(epoch from last_slot) * 1000)::float8 as last_slot_ms
        from sluice.schedules where name = any(${sql.param(names)}::text[])`,
  );
  return new Map(found.map((r) => [r.name, r.last_slot_ms]));
}

/** A schedule's last slot (epoch ms), its row locked for this transaction; null when it has none yet. */
export async function scheduleLockLastSlot(db: Db, name: string): Promise<number | null> {
  const [row] = await rows<{ last_slot_ms: number }>(
    db,
    sql`select (extract(epoch from last_slot) * 1000)::float8 as last_slot_ms from sluice.schedules where name = ${name} for update`,
  );
  return row?.last_slot_ms ?? null;
}

/**
 * Moves a schedule's last slot forward to `slotMs`, or records it the first time; false when another
 * tick got there first (its row already at or past `slotMs`). In the enqueuing transaction, its row
 * lock makes a second tick wait and then find the slot taken.
 */
export async function scheduleAdvance(db: Db, name: string, slotMs: number): Promise<boolean> {
  const advanced = await rows<{ name: string }>(
    db,
    sql`insert into sluice.schedules as s (name, last_slot) values (${name}, to_timestamp(${slotMs / 1000}))
        on conflict (name) do update set last_slot = excluded.last_slot, updated_at = now()
        where s.last_slot < excluded.last_slot
        returning name`,
  );
  return advanced.length > 0;
}
