import { z } from 'zod';
import { defineJob } from '../../lib/index.js';

/** Every start of a step's fn, by job id and step name: a step run twice shows as a count of 2. */
export function stepRuns() {
  const runs = new Map<string, number>();
  const attempts: number[] = [];
  return {
    runs,
    /** The attempt of every run of the job (a run handed back gives its attempt back). */
    attempts,
    started(jobId: string, step: string) {
      runs.set(`${jobId} ${step}`, (runs.get(`${jobId} ${step}`) ?? 0) + 1);
    },
    /** Every step of `jobIds` that ran, and whether each ran exactly once. */
    once(jobIds: string[], steps: number) {
      return jobIds.length * steps === runs.size && [...runs.values()].every((n) => n === 1);
    },
  };
}

/** A workflow of `steps` durable steps (`step-0` ...) of `stepMs` each, every start recorded in `log`. */
export function stepsWorkflow(type: string, steps: number, stepMs: number, log: ReturnType<typeof stepRuns>, timeoutMs = 10 * 60_000) {
  return defineJob({
    type,
    payload: z.object({}),
    timeoutMs,
    handler: async (_payload, ctx) => {
      log.attempts.push(ctx.job.attempt);
      for (let n = 0; n < steps; n++) {
        await ctx.step(`step-${n}`, async () => {
          log.started(ctx.job.id, `step-${n}`);
          await new Promise((r) => setTimeout(r, stepMs));
          return n;
        });
      }
    },
  });
}
