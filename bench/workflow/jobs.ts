import { z } from 'zod';
import { defineJob } from '../../lib/queue/index.js';
import { startClock } from '../wake/clock.js';

/**
 * The workflow scenario's job types (run by app.ts) and the moments their handlers reach, by sample:
 * `<sample>:<what>` on one clock (performance.now() in the app's process). A handler replays from its
 * start after every wait, so a moment is kept the first time it is reached, never moved by a replay.
 */
export const clock = startClock();
const reached = new Set<string>();
const mark = (sample: string, what: string) => {
  const key = `${sample}:${what}`;
  if (reached.has(key)) return;
  reached.add(key);
  clock.hit(key);
};

/** Each ctx.step's duration as the handler saw it (call to resolve), ms, by sample. */
export const stepMs = new Map<string, number[]>();

/** `steps` serial durable steps, each with a trivial fn: what a step itself costs. */
export const stepsJob = defineJob({
  type: 'wf-steps',
  payload: z.object({ sample: z.string(), steps: z.number().int().min(0) }),
  handler: async ({ sample, steps }, ctx) => {
    const took: number[] = [];
    for (let i = 0; i < steps; i++) {
      const before = performance.now();
      await ctx.step(`s${i}`, () => i);
      took.push(performance.now() - before);
    }
    stepMs.set(sample, took);
    mark(sample, 'done');
  },
});

/** The event every waiter waits for; its key is the sample. */
export const EVENT = 'bench.go';

/** Waits for its event, then goes on past the wait: the moment `resumed`. */
export const waitJob = defineJob({
  type: 'wf-wait',
  payload: z.object({ sample: z.string() }),
  handler: async ({ sample }, ctx) => {
    await ctx.waitForEvent('go', { event: EVENT, key: sample, timeoutMs: 3_600_000 });
    mark(sample, 'resumed');
  },
});

/** The child: its handler's first line (`child-start`) and its last before it returns (`child-end`). */
export const childJob = defineJob({
  type: 'wf-child',
  payload: z.object({ sample: z.string() }),
  handler: async ({ sample }) => {
    mark(sample, 'child-start');
    mark(sample, 'child-end');
  },
});

/** Invokes the child: the moment it calls ctx.invoke (`invoke`, its first run) and the one past it (`resumed`). */
export const parentJob = defineJob({
  type: 'wf-parent',
  payload: z.object({ sample: z.string() }),
  handler: async ({ sample }, ctx) => {
    mark(sample, 'invoke');
    await ctx.invoke('child', childJob, { sample });
    mark(sample, 'resumed');
  },
});

export const workflowJobs = [stepsJob, waitJob, childJob, parentJob] as const;
