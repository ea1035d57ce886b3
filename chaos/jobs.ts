// The chaos suite's job types (npm run chaos): plain ones here, workflows (children, events) in workflows.ts.
import { z } from 'zod';
import { appScope, defineJob, type Housekeeping } from '../lib/queue/index.js';
import { effect, logged, pause, POISON_ATTEMPTS, random, spare } from './handlers.js';
import { childJob, parentJob, waiterJob } from './workflows.js';

export { logRunsTo, POISON_ATTEMPTS } from './handlers.js';

const payload = z.object({ n: z.number() });
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
        await effect(tx, ctx.job.id, `s${i}`);
        await pause(random(20, 120), ctx.signal);
      }, { transaction: true });
    }
  }),
});

export const CHAOS_JOBS = [okJob, flakyJob, poisonJob, slowJob, stepsJob, parentJob, childJob, waiterJob];

/** The cron tick's housekeeping, on every pass (at most once a minute does anything): it makes waits whose timeout passed due. */
export const CHAOS_TICK: Housekeeping = {
  params: { scope: appScope(CHAOS_JOBS.map((j) => j.type)), historyRetentionMs: 7 * 86_400_000, deadRetentionMs: 30 * 86_400_000, pruneBatch: 10_000, alerts: null },
  onReport: () => {},
};
