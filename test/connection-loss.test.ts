import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueueMany } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { countJobs, latch, select, waitFor } from './support/sql.js';

// A lost connection is not the end of a pass (issue 11): the drain's own statements go again on a
// fresh connection, its handlers keep running.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => { await conn?.close(); });

describe('a terminated connection', () => {
  it('mid-pass leaves the running handlers running and the pass completing', async () => {
    const url = new URL(conn.url);
    url.searchParams.set('application_name', 'victim-drain');
    const victim = freshDatabase.reconnect(url.toString(), 'pg');
    const gate = latch();
    let started = 0;
    let finished = 0;
    const job = defineJob({
      type: 'waits', payload: z.object({ n: z.number() }),
      handler: async () => { started++; await gate.promise; finished++; },
    });
    try {
      await enqueueMany(conn.db, Array.from({ length: 30 }, (_, n) => ({ job, payload: { n } })));
      const pass = drain(victim.db, [job], { budgetMs: 20_000, concurrency: 10 });
      await waitFor('ten handlers to run', async () => (started === 10 ? true : undefined));
      // The jobs table locked (as a migration would): the claim the finishing handlers bring is stuck
      // on it, and every connection of the drain's pool is terminated under that statement.
      const locker = freshDatabase.reconnect(conn.url, 'pg');
      try {
        await locker.db.transaction(async (tx) => {
          await tx.execute(sql`lock table sluice.jobs in access exclusive mode`);
          gate.open();
          await waitFor('the drain\'s claim to wait on the lock', async () => {
            const waiting = await select(conn.db, sql`select 1 from pg_stat_activity where application_name = 'victim-drain' and wait_event_type = 'Lock'`);
            return waiting.length > 0 ? true : undefined;
          });
          const killed = await select<{ ok: boolean }>(conn.db, sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'victim-drain'`);
          expect(killed.length).toBeGreaterThan(0);
        });
      } finally {
        await locker.close();
      }
      const summary = await pass;
      expect(summary).toMatchObject({ completed: 30, retried: 0, dead: 0, stoppedBy: 'empty' });
      expect(finished).toBe(30);
      expect(await countJobs(conn.db)).toBe(0);
    } finally {
      await victim.close();
    }
  });
});

describe('a database that stays unreachable', () => {
  it('is tried again until the pass\'s stop time, then ends the pass with the connection error', async () => {
    // Nothing listens on port 1: every connection is refused.
    const nowhere = freshDatabase.reconnect('postgres://postgres@127.0.0.1:1/nowhere', 'pg');
    const job = defineJob({ type: 'never', payload: z.object({}), handler: async () => {} });
    let attempts = 0;
    const counting = new Proxy(nowhere.db, {
      get: (target, key, receiver) => (key === 'execute' ? (...args: unknown[]) => { attempts++; return (target.execute as (...a: unknown[]) => unknown)(...args); } : Reflect.get(target, key, receiver)),
    });
    try {
      await expect(drain(counting, [job], { budgetMs: 1_500 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      // Claims went again with a backoff (50 ms doubling to 1 s) rather than ending the pass at once.
      expect(attempts).toBeGreaterThanOrEqual(3);
    } finally {
      await nowhere.close();
    }
  });
});
