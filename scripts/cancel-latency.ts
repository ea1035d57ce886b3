/**
 * How long a running job's cancel takes to reach its handler: `npx tsx scripts/cancel-latency.ts [jobs]`
 * (default 30). One drain (default lease grace, 10 s) runs that many jobs that wait on their signal;
 * each is cancelled (cancelJob) at a random moment 0-10 s after it started, and the time from the
 * cancel to its ctx.signal firing is recorded. Prints min, median, p90 and max, and how each job
 * ended. An embedded Postgres, or DATABASE_URL's server.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { cancelJob, connect, defineJob, drain, enqueueMany, getJob, JobCancelledError, migrate } from '../lib/queue/index.js';
import { startLocalPostgres } from './local-postgres.js';

const count = Number(process.argv[2] ?? 30);
const local = process.env.DATABASE_URL ? undefined : await startLocalPostgres({ dataDir: join(mkdtempSync(join(tmpdir(), 'sluice-cancel-')), 'data'), persistent: false });
const conn = connect(process.env.DATABASE_URL ?? local!.url);
try {
  await migrate(conn.db);
  const waits: number[] = [];
  const cancels: Promise<void>[] = [];
  const waiting = defineJob({
    type: 'waits-for-cancel', payload: z.object({}), timeoutMs: 120_000,
    handler: async (_, ctx) => {
      const cancelAfter = Math.random() * 10_000;
      let askedAt = 0;
      cancels.push(new Promise((resolve) => setTimeout(resolve, cancelAfter)).then(async () => {
        askedAt = performance.now();
        await cancelJob(conn.db, ctx.job.id);
      }));
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      if (ctx.signal.reason instanceof JobCancelledError) waits.push(performance.now() - askedAt);
    },
  });
  const { ids } = await enqueueMany(conn.db, Array.from({ length: count }, () => ({ job: waiting, payload: {} })));
  const summary = await drain(conn.db, [waiting], { budgetMs: 60_000, concurrency: count });
  await Promise.all(cancels);
  const statuses = await Promise.all(ids.map(async (id) => (await getJob(conn.db, id)).status));
  waits.sort((a, b) => a - b);
  const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]!.toFixed(0);
  console.log(`${waits.length} of ${count} cancels reached their handler: min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
  const byStatus: Record<string, number> = {};
  for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1;
  console.log(`drain: ${JSON.stringify(summary)}; jobs: ${JSON.stringify(byStatus)}`);
} finally {
  await conn.close();
  await local?.stop();
}
