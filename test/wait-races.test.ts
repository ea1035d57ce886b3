import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, enqueue, sendEvent } from '../lib/queue/index.js';
import { jobClaim, jobWriteOutcomes } from '../lib/queue/core/queries-drain.js';
import { eventLocks, eventTag, jobWait, type WaitWrite } from '../lib/queue/core/queries-waits.js';
import { stepsOfRun } from '../lib/queue/core/queries-steps.js';
import { freshDatabase } from './support/db.js';
import { jobRow, latch, select, waitFor } from './support/sql.js';

// The races a wait must never lose: a wake landing between the run's look (no child ended, no event) and
// its write of the wait. Each is forced here, statement by statement, on a real Postgres.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });
beforeEach(async () => { await conn.db.execute(sql`delete from sluice.jobs`); await conn.db.execute(sql`delete from sluice.events`); });

const job = defineJob({ type: 'w', payload: z.object({}), handler: async () => {} });

/** A parent claimed by a run (its token), and a child of it claimed too. */
async function claimedParentAndChild() {
  const parent = await enqueue(conn.db, job, {});
  const token = randomUUID();
  await jobClaim(conn.db, { token, limit: 1, types: ['w'], app: 'races', leaseMs: 60_000, outcomes: [], rescueLimit: 0, flow: null });
  const [child] = await select<{ id: string }>(conn.db, sql`
    insert into sluice.jobs (type, payload, status, attempts, lock_token, locked_until, awaited, parent_id, parent_step)
    values ('w', '{}', 'running', 1, ${token}::uuid, now() + interval '1 minute', true, ${parent.id}::uuid, 'c') returning id`);
  return { parent: parent.id, child: child!.id, token };
}

const waitOf = (id: string, token: string, deliveries: number, extra: Partial<WaitWrite> = {}): WaitWrite => ({
  id, token, deliveries, tags: [], names: [], keys: [], taken: [], untilMs: Date.now() + 3_600_000, progress: null, concurrency: false, ...extra,
});

describe('a wait', () => {
  it('written after its child ended (the run looked before) goes pending, not waiting', async () => {
    const { parent, child, token } = await claimedParentAndChild();
    const seq = (await stepsOfRun(conn.db, parent)).deliveries; // the run reads the count, then sees the child still running
    await jobWriteOutcomes(conn.db, [{ id: child, token, kind: 'done', result: '1' }]); // the child ends: the parent is running, not waiting
    expect(await jobWait(conn.db, waitOf(parent, token, seq))).toBe('pending');
    expect((await jobRow(conn.db, parent))!.status).toBe('pending');
  });

  it('written before its child ends is delivered by the end', async () => {
    const { parent, child, token } = await claimedParentAndChild();
    const seq = (await stepsOfRun(conn.db, parent)).deliveries;
    expect(await jobWait(conn.db, waitOf(parent, token, seq))).toBe('waiting');
    expect(await jobWriteOutcomes(conn.db, [{ id: child, token, kind: 'dead', error: 'x' }])).toEqual({ written: 1, delivered: 1 });
    expect((await jobRow(conn.db, parent))!.status).toBe('pending');
  });

  it('waits for an event sent in a transaction still open, then sees it: pending', async () => {
    const { parent, token } = await claimedParentAndChild();
    const seq = (await stepsOfRun(conn.db, parent)).deliveries;
    const committed = latch();
    const sent = latch();
    // The caller's transaction: the event is sent (its lock taken), then the transaction stays open.
    const caller = conn.db.transaction(async (tx) => {
      await sendEvent(tx, 'approved', { key: 'k', data: 1 });
      sent.open();
      await committed.promise;
    });
    await sent.promise;
    const tags = [eventTag('approved', 'k')];
    const write = waitOf(parent, token, seq, { tags, names: ['approved'], keys: ['k'] });
    const waited = conn.db.transaction(async (tx) => { await eventLocks(tx, tags); return jobWait(tx, write); });
    // The wait queues for the event's lock until the caller commits.
    await waitFor('the wait to queue for the lock', async () => {
      const [n] = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`);
      return n!.n > 0 ? true : undefined;
    });
    committed.open();
    await caller;
    expect(await waited).toBe('pending');
  });

  it('written first is delivered by an event sent after it', async () => {
    const { parent, token } = await claimedParentAndChild();
    const seq = (await stepsOfRun(conn.db, parent)).deliveries;
    const tags = [eventTag('approved', 'k2')];
    expect(await conn.db.transaction(async (tx) => { await eventLocks(tx, tags); return jobWait(tx, waitOf(parent, token, seq, { tags, names: ['approved'], keys: ['k2'] })); })).toBe('waiting');
    expect(await sendEvent(conn.db, 'approved', { key: 'k2' })).toMatchObject({ delivered: 1 });
    expect((await jobRow(conn.db, parent))!.status).toBe('pending');
  });
});
