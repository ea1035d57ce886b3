import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { connect, defineJob, drain, enqueue, enqueueMany, migrate, type DrainOptions } from '../../lib/queue/index.js';
import type { BenchPostgres } from '../services.js';
import { batches, handlerCounter, payload, timed, timedCalls, type SystemInfo, type SystemSetup, type SystemWorker } from './types.js';

export const info: SystemInfo = {
  name: 'sluice',
  pkg: 'sluice',
  // Headline rows use the engine's defaults: that is what users get and what the targets judge.
  settings: { drain: 'defaults (DRAIN_DEFAULTS in lib/queue/config.ts)', driver: 'pg', poolMax: '20 (connect() default)' },
};

let handled: (() => void) | undefined;
export const noop = defineJob({
  type: 'noop',
  payload: z.object({ i: z.number() }),
  handler: async () => { handled?.(); },
});

const item = (i: number) => ({ job: noop, payload: payload(i) });
const items = (n: number) => Array.from({ length: n }, (_, i) => item(i));

export function setup(pg: BenchPostgres, database = 'sluice'): SystemSetup {
  let conn: ReturnType<typeof connect> | undefined;
  const db = () => conn!.db;
  return {
    async install() {
      const url = await pg.createDatabase(database);
      conn = connect(url, { driver: 'pg' });
      await migrate(db());
      return { pgUrl: url };
    },
    async reset() {
      await db().execute(sql`truncate sluice.jobs`);
      await db().execute(sql`vacuum analyze sluice.jobs`);
    },
    async seed(n) {
      // In slices: one statement per 20k keeps the JSON parameter a few MB.
      for (let i = 0; i < n; i += 20_000) await enqueueMany(db(), items(Math.min(20_000, n - i)));
      await db().execute(sql`analyze sluice.jobs`);
    },
    async remaining() {
      // Completed runs kept as history are done: not left.
      const r = (await db().execute(sql`select count(*)::int as n from sluice.jobs where status <> 'completed'`)) as unknown as { rows: { n: number }[] };
      return r.rows[0]!.n;
    },
    close: async () => conn?.close(),
  };
}

export const worker: SystemWorker = {
  async drain(at, _direct, n, capMs, options) {
    const counter = handlerCounter(n, capMs);
    handled = counter.hit;
    const { db, close } = connect(at.pgUrl, { driver: (options?.driver as 'pg' | 'neon') ?? 'pg', wsProxy: options?.wsProxy as string });
    const drainOptions = { ...(options?.drain as DrainOptions), budgetMs: capMs };
    const summary = await drain(db, [noop], drainOptions);
    const ms = counter.elapsed();
    counter.done();
    await close();
    return { completed: summary.completed, ms, firstJobMs: counter.firstJobMs(), capped: summary.stoppedBy !== 'empty', extra: summary };
  },
  async enqueueBulk(at, n, calls) {
    const { db, close } = connect(at.pgUrl, { driver: 'pg' });
    await db.execute(sql`select 1`); // connect outside the timing, as every system does
    const ms = await timedCalls(batches(n, calls, item), (batch) => enqueueMany(db, batch));
    await close();
    return ms;
  },
  async enqueueSingle(at, n) {
    const { db, close } = connect(at.pgUrl, { driver: 'pg' });
    await db.execute(sql`select 1`);
    const ms = await timed(async () => { for (let i = 0; i < n; i++) await enqueue(db, noop, payload(i)); });
    await close();
    return ms;
  },
};
