// The chaos suite's job types (npm run chaos). Every run is logged, synchronously, to the process's
// own file before it starts and when its handler settles, so a SIGKILL loses no line that matters.
import { appendFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { defineJob, type JobContext } from '../lib/queue/index.js';

let logFile = '';
/** Where this process logs its runs: one file per drain process. */
export const logRunsTo = (file: string) => (logFile = file);
const log = (line: string) => logFile && appendFileSync(logFile, `${line}\n`);

const pause = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});
const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

/** Wraps a handler so its start and end are logged: start <id> <type> <attempt> <pid> <ms>, end <id> ok|fail <pid> <ms>. */
function logged<P>(type: string, body: (payload: P, ctx: JobContext) => Promise<void>) {
  return async (payload: P, ctx: JobContext) => {
    log(`start ${ctx.job.id} ${type} ${ctx.job.attempt} ${process.pid} ${Date.now()}`);
    try {
      await body(payload, ctx);
      log(`end ${ctx.job.id} ok ${process.pid} ${Date.now()}`);
    } catch (error) {
      log(`end ${ctx.job.id} fail ${process.pid} ${Date.now()}`);
      throw error;
    }
  };
}

const payload = z.object({ n: z.number() });
// Non-poison jobs get attempts to spare: kills and lease losses spend attempts too.
const spare = { maxAttempts: 40, backoff: { baseMs: 50, maxMs: 1_000 } };

export const okJob = defineJob({
  type: 'chaos-ok', payload, ...spare,
  handler: logged('chaos-ok', async (_, ctx) => pause(random(5, 50), ctx.signal)),
});

export const flakyJob = defineJob({
  type: 'chaos-flaky', payload, ...spare,
  handler: logged('chaos-flaky', async (_, ctx) => {
    await pause(random(5, 30), ctx.signal);
    if (Math.random() < 0.3) throw new Error('flaky failure');
  }),
});

/** Fails every time: must end dead after exactly maxAttempts. */
export const POISON_ATTEMPTS = 3;
export const poisonJob = defineJob({
  type: 'chaos-poison', payload, maxAttempts: POISON_ATTEMPTS, backoff: { baseMs: 50, maxMs: 200 },
  handler: logged('chaos-poison', async () => { throw new Error('poison'); }),
});

/** Times out about a fifth of the time. */
export const slowJob = defineJob({
  type: 'chaos-slow', payload, ...spare, timeoutMs: 350,
  handler: logged('chaos-slow', async (_, ctx) => pause(random(100, 420), ctx.signal)),
});

/** 3 to 5 steps, each writing its effect in the transaction that records the step: never twice. */
export const stepsJob = defineJob({
  type: 'chaos-steps', payload: z.object({ n: z.number(), steps: z.number() }), ...spare,
  handler: logged('chaos-steps', async (p, ctx) => {
    for (let i = 1; i <= p.steps; i++) {
      await ctx.step(`s${i}`, async (tx) => {
        await tx.execute(sql`insert into chaos_effects (job_id, step) values (${ctx.job.id}::uuid, ${`s${i}`})`);
        await pause(random(20, 120), ctx.signal);
      }, { transaction: true });
    }
  }),
});

export const CHAOS_JOBS = [okJob, flakyJob, poisonJob, slowJob, stepsJob];
