/**
 * The statements that coordinate drains rather than jobs: how much is due (a tick's fan-out decision),
 * the slot leases that bound fanned-out and continuing drains, the dead-man mark and the kick mark. Same
 * rules as queries.ts: one statement each, values always parameters. Each app (lib/queue/app.ts) has
 * slots and marks of its own, so apps sharing a database never hold back or stand in for each other.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import { rows } from '../queries.js';
import { claimWalk, typesTable } from './queries-walk.js';

/** Due pending jobs of these types, counted up to `cap`: enough to size a fan-out, cheap on a huge backlog. */
export async function jobDueCount(db: Db, types: string[], cap: number): Promise<number> {
  const [result] = await rows<{ due: number }>(
    db,
    sql`select count(*)::int as due from (${claimWalk({ from: typesTable(types), columns: sql`id`, limit: cap })}) d`,
  );
  return result!.due;
}

/**
 * Takes up to `want` free slots among 1..`max` (free: never taken, or held_until passed) and holds them
 * for `holdMs`; returns the slots taken. Two ticks racing for one slot: ON CONFLICT re-checks the row
 * the other just wrote, finds it held, and skips it, so a slot has one holder.
 */
export async function drainSlotsTake(db: Db, app: string, want: number, max: number, holdMs: number): Promise<number[]> {
  const taken = await rows<{ slot: number }>(
    db,
    sql`insert into sluice.app_drain_slots as d (app, slot, held_until)
        select ${app}, s, now() + ${holdMs} * interval '1 millisecond' from generate_series(1, ${max}::int) s
        where not exists (select 1 from sluice.app_drain_slots x where x.app = ${app} and x.slot = s and x.held_until > now())
        order by s limit ${want}
        on conflict (app, slot) do update set held_until = excluded.held_until where d.held_until <= now()
        returning slot`,
  );
  return taken.map((r) => r.slot);
}

/** Holds a slot this drain already has for `holdMs` more (a continuation carrying it on). */
export async function drainSlotRenew(db: Db, app: string, slot: number, holdMs: number): Promise<void> {
  await rows(db, sql`update sluice.app_drain_slots set held_until = now() + ${holdMs} * interval '1 millisecond' where app = ${app} and slot = ${slot}`);
}

/** Frees a slot at the end of a chain of drains. */
export async function drainSlotRelease(db: Db, app: string, slot: number): Promise<void> {
  await rows(db, sql`update sluice.app_drain_slots set held_until = now() where app = ${app} and slot = ${slot}`);
}

/**
 * Records that a drain of the app ended well, now: the dead-man switch's heartbeat. One upsert of one
 * row. (An empty claim writes the same itself: the heartbeat CTE in queries-drain.ts.)
 */
export async function drainMarkOk(db: Db, app: string): Promise<void> {
  await rows(
    db,
    sql`insert into sluice.apps (app, last_drain_ok_at) values (${app}, now())
        on conflict (app) do update set last_drain_ok_at = excluded.last_drain_ok_at`,
  );
}

/**
 * Whether this kick should start a drain elsewhere: true, and kick_sent_at set, unless a kick was sent
 * less than `staleMs` ago and no drain has found the queue empty since (its empty claim clears it):
 * that drain will see this kick's jobs, so 1,000 enqueues from 1,000 instances send a handful of kicks.
 */
export async function kickClaim(db: Db, app: string, staleMs: number): Promise<string | null> {
  const [sent] = await rows<{ sent_at: string }>(
    db,
    sql`insert into sluice.apps as q (app, kick_sent_at) values (${app}, now())
        on conflict (app) do update set kick_sent_at = now()
        where q.kick_sent_at is null or q.kick_sent_at < now() - ${staleMs} * interval '1 millisecond'
        returning kick_sent_at::text as sent_at`,
  );
  return sent?.sent_at ?? null;
}

/** Undoes kickClaim's mark when its kick could not be sent, unless another kick has marked it since. */
export async function kickRelease(db: Db, app: string, sentAt: string): Promise<void> {
  await rows(db, sql`update sluice.apps set kick_sent_at = null where app = ${app} and kick_sent_at = ${sentAt}::timestamptz`);
}
