import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { connect, defineJob, drain, enqueueMany } from '../../lib/queue/index.js';
import { FAIRNESS_CONCURRENCY, type FairnessModule, type FairnessPayload } from './work.js';

let handler: ((p: FairnessPayload) => Promise<void>) | undefined;

/** One job type per mode; the parent and the child each build the definition. */
const fairnessJob = (mode: string) =>
  defineJob({
    type: `fairness-${mode}`,
    payload: z.object({ tenant: z.enum(['big', 'small']), i: z.number() }),
    handler: async (p) => handler!(p),
    ...(mode === 'fair' ? { fairness: { key: (p: FairnessPayload) => p.tenant } } : {}),
  });

const items = (mode: string, payloads: FairnessPayload[]) => {
  const job = fairnessJob(mode);
  return payloads.map((payload) => ({ job, payload }));
};

export const fairness: FairnessModule = {
  modes: ['plain', 'fair'],
  label: (mode) => (mode === 'fair' ? 'sluice, fairness.key = tenant' : 'sluice, no fairness'),
  settings: { drain: { concurrency: FAIRNESS_CONCURRENCY }, driver: 'pg', fair: 'fairness: { key: (p) => p.tenant }' },
  async setup(direct) {
    const { db, close } = connect(direct.pgUrl, { driver: 'pg' });
    return {
      async reset() {
        await db.execute(sql`truncate sluice.jobs`);
        await db.execute(sql`vacuum analyze sluice.jobs`);
      },
      async seed(payloads, mode) {
        for (let i = 0; i < payloads.length; i += 20_000) await enqueueMany(db, items(mode, payloads.slice(i, i + 20_000)));
        await db.execute(sql`analyze sluice.jobs`);
      },
      async remaining() {
        const r = (await db.execute(sql`select count(*)::int as n from sluice.jobs where status <> 'completed'`)) as unknown as { rows: { n: number }[] };
        return r.rows[0]!.n;
      },
      close,
    };
  },
  async worker(at, direct, mode) {
    const sender = connect(direct.pgUrl, { driver: 'pg' });
    await sender.db.execute(sql`select 1`); // connected before the enqueue is timed
    return {
      async work(run, _counter, _n, capMs) {
        handler = run;
        const conn = connect(at.pgUrl, { driver: 'pg' });
        try {
          const summary = await drain(conn.db, [fairnessJob(mode)], { budgetMs: capMs, concurrency: FAIRNESS_CONCURRENCY });
          return { completed: summary.completed, capped: summary.stoppedBy !== 'empty' };
        } finally {
          await conn.close();
        }
      },
      enqueueSmall: (payloads) => enqueueMany(sender.db, items(mode, payloads)),
      close: () => sender.close(),
    };
  },
};
