import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { connect, defineJob, drain, enqueueMany, type Connection } from '../../lib/queue/index.js';
import { handlerCounter } from '../systems/types.js';
import type { FlowExtra, FlowLimit, FlowModule } from './types.js';
import { FLOW_CONCURRENCY, startTracker } from './work.js';

let tracker: ReturnType<typeof startTracker> | undefined;

/**
 * One job type per limit, so a row's slots (sluice.flow_slots, per type and key) are its own. The
 * parent and the child each build the definition; only its type and limit need to agree.
 */
export const flowJob = (limit: FlowLimit) =>
  defineJob({
    type: `flow-${limit ?? 'free'}`,
    payload: z.object({ i: z.number(), key: z.string() }),
    handler: async (p) => tracker!.run(p.key),
    ...(limit === null ? {} : { concurrency: { limit, key: (p: { key: string }) => p.key } }),
  });

/**
 * Counts the drain's claim statements and what they returned, from the pool under drizzle: the relay
 * counts statements but cannot tell a claim from an outcome write, and a limit shows first in claims
 * that come back short.
 */
export function countClaims(conn: Connection): NonNullable<FlowExtra['claims']> {
  const counts = { count: 0, jobs: 0, heldBack: 0, ms: 0 };
  const pool = conn.pool as unknown as { query: (...args: unknown[]) => Promise<{ rows?: { jobs?: unknown[]; held_back?: boolean }[] }> };
  const query = pool.query.bind(pool);
  pool.query = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text ?? '';
    const sent = performance.now();
    const result = query(...args);
    if (!text.includes('claimed as (')) return result;
    return result.then((r) => {
      const row = r.rows?.[0];
      counts.ms += performance.now() - sent;
      counts.count++;
      counts.jobs += Array.isArray(row?.jobs) ? row.jobs.length : 0;
      if (row?.held_back) counts.heldBack++;
      return r;
    });
  };
  return counts;
}

export const flow: FlowModule = {
  label: (limit) => (limit === null ? 'sluice, no limit' : `sluice, concurrency ${limit} per key`),
  limits: [null, 2, 1],
  settings: { drain: { concurrency: FLOW_CONCURRENCY }, driver: 'pg', key: 'concurrency.key = payload.key, computed at enqueue' },
  async setup(direct) {
    const { db, close } = connect(direct.pgUrl, { driver: 'pg' });
    return {
      async reset() {
        await db.execute(sql`truncate sluice.jobs, sluice.flow_slots`);
        await db.execute(sql`vacuum analyze sluice.jobs, sluice.flow_slots`);
      },
      async seed(payloads, limit) {
        const job = flowJob(limit);
        for (let i = 0; i < payloads.length; i += 20_000) {
          await enqueueMany(db, payloads.slice(i, i + 20_000).map((payload) => ({ job, payload })));
        }
        await db.execute(sql`analyze sluice.jobs`);
      },
      async remaining() {
        const r = (await db.execute(sql`select count(*)::int as n from sluice.jobs where status <> 'completed'`)) as unknown as { rows: { n: number }[] };
        return r.rows[0]!.n;
      },
      close,
    };
  },
  async drain(at, _direct, n, capMs, limit) {
    const counter = handlerCounter(n, capMs);
    tracker = startTracker(counter.hit);
    const conn = connect(at.pgUrl, { driver: 'pg' });
    const claims = countClaims(conn);
    const summary = await drain(conn.db, [flowJob(limit)], { budgetMs: capMs, concurrency: FLOW_CONCURRENCY });
    const ms = counter.elapsed();
    counter.done();
    await conn.close();
    return {
      completed: summary.completed, ms, firstJobMs: counter.firstJobMs(), capped: summary.stoppedBy !== 'empty',
      extra: { tracker: tracker.stats(), claims, summary },
    };
  },
};
