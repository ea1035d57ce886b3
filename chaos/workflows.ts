// The chaos suite's workflows (npm run chaos): parents that invoke children, one after another or 2-3 at
// once, and jobs that wait for events. What flow-check.ts checks them by is in their payloads and results.
import { z } from 'zod';
import { ChildJobError, defineJob } from '../lib/queue/index.js';
import { effect, logged, pause, POISON_ATTEMPTS, random, spare } from './handlers.js';

/** The events waiters wait for (their key tells whose). */
export const CHAOS_EVENT = 'chaos-event';

/**
 * A child: its effect in a transactional step, then a failure a fifth of the time, so that its retry
 * replays the step (the effect stays once). One that `fails` fails every run, before its step.
 */
export const childJob = defineJob({
  type: 'chaos-child', payload: z.object({ n: z.number(), fails: z.boolean() }), ...spare,
  handler: logged('chaos-child', async (p, ctx) => {
    await pause(random(5, 50), ctx.signal);
    if (p.fails) throw new Error('poison child');
    await ctx.step('effect', (tx) => effect(tx, ctx.job.id, 'effect'), { transaction: true });
    if (Math.random() < 0.2) throw new Error('flaky child, after its step');
    return { n: p.n };
  }),
});

/** What a parent's result says of each child, in order: its result, or how it failed (a ChildJobError's status). */
export type ChildOutcome = { n: number } | { failed: string };

/**
 * A parent: `children` children named c1, c2, ... invoked one after another or all at once (`fanOut`),
 * child number `fails` (0: none) failing every run with POISON_ATTEMPTS attempts, its ChildJobError
 * caught; then its own transactional step. Its result lists its children's outcomes.
 */
export const parentJob = defineJob({
  type: 'chaos-parent', payload: z.object({ n: z.number(), children: z.number(), fanOut: z.boolean(), fails: z.number() }), ...spare,
  handler: logged('chaos-parent', async (p, ctx): Promise<ChildOutcome[]> => {
    const child = async (i: number): Promise<ChildOutcome> => {
      const fails = i === p.fails;
      try {
        return await ctx.invoke(`c${i}`, childJob, { n: p.n * 10 + i, fails }, fails ? { maxAttempts: POISON_ATTEMPTS } : {});
      } catch (error) {
        if (error instanceof ChildJobError) return { failed: error.status };
        throw error;
      }
    };
    const numbers = Array.from({ length: p.children }, (_, i) => i + 1);
    const outcomes: ChildOutcome[] = [];
    if (p.fanOut) outcomes.push(...(await Promise.all(numbers.map(child))));
    else for (const i of numbers) outcomes.push(await child(i));
    await ctx.step('total', (tx) => effect(tx, ctx.job.id, 'total'), { transaction: true });
    return outcomes;
  }),
});

/**
 * A job waiting for `waits` events of its key, one after another, each with `timeoutMs`; the load sends
 * `events` of them (0: none, and every wait times out). Its result: when it reached its first wait
 * (about: a step just before it), and what each wait gave.
 */
export const waiterJob = defineJob({
  type: 'chaos-waiter', payload: z.object({ n: z.number(), key: z.string(), waits: z.number(), events: z.number(), timeoutMs: z.number() }), ...spare,
  handler: logged('chaos-waiter', async (p, ctx) => {
    const reachedAt = await ctx.step('reached', async () => {
      await pause(random(5, 100), ctx.signal);
      return Date.now();
    });
    const data: unknown[] = [];
    for (let i = 1; i <= p.waits; i++) data.push(await ctx.waitForEvent(`w${i}`, { event: CHAOS_EVENT, key: p.key, timeoutMs: p.timeoutMs }));
    return { reachedAt, data };
  }),
});
