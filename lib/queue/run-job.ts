import type { Db } from './db.js';
import { describeError, PermanentError, RetryLaterError } from './errors.js';
import type { JobDefinition } from './jobs.js';
import type { ClaimedJob, Outcome } from './queries-drain.js';
import { backoffDelayMs } from './retry.js';

/** Why a run's signal fired. */
export class AbortReason extends Error {
  override name = 'AbortReason';
}

export interface RunLimits {
  /** Epoch ms (local clock) at which this run's lease ends: claim sent + lease length. */
  leaseEnd: number;
  /** Epoch ms at which the signal fires because the drain is stopping. */
  stopAt: number;
  /** After the signal fires, how long a handler may take to settle before the drain gives up on it. */
  settleMs: number;
}

type Attempted = Pick<ClaimedJob, 'id' | 'attempts' | 'max_attempts'>;

/** Failure outcome: retry after backoff (at least `minDelayMs`), or dead once every attempt is spent. */
export function failure(job: Attempted, token: string, definition: JobDefinition | undefined, error: string, minDelayMs = 0): Outcome {
  const text = `attempt ${job.attempts}/${job.max_attempts}: ${error}`;
  if (job.attempts >= job.max_attempts) return { id: job.id, token, kind: 'dead', error: text };
  const delay_ms = Math.max(minDelayMs, backoffDelayMs(job.attempts, definition?.backoff));
  return { id: job.id, token, kind: 'retry', delay_ms, error: text };
}

/**
 * Runs one claimed job and says what became of it; never throws (anything unexpected, even from
 * sluice itself, is a failure of that job, not of the drain). The signal fires at the job's timeout,
 * when its lease ends, or when the drain stops (it calls every function in `onStop`), whichever is first.
 */
export async function runJob(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, onStop: Set<() => void>,
): Promise<Outcome> {
  try {
    return await run(job, token, definition, db, limits, onStop);
  } catch (error) {
    return failure(job, token, definition, `could not run the handler: ${describeError(error)}`);
  }
}

async function run(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, onStop: Set<() => void>,
): Promise<Outcome> {
  if (!definition) return { id: job.id, token, kind: 'dead', error: `unknown job type "${job.type}"` };
  const parsed = await parsePayload(definition, job.payload);
  if (!parsed.success) {
    return { id: job.id, token, kind: 'dead', error: `payload failed validation: ${describeError(parsed.error)}` };
  }

  // The AbortController is made only if the handler reads ctx.signal: most never do, and at tens of
  // thousands of jobs a second a controller and its listeners per job are a large share of the CPU.
  let controller: AbortController | undefined;
  let abortedBy: AbortReason | undefined;
  let settle: (result: Settled) => void = () => {};
  const timers: NodeJS.Timeout[] = [];
  const abort = (reason: string) => {
    if (abortedBy) return;
    abortedBy = new AbortReason(reason);
    controller?.abort(abortedBy);
    // A handler that ignores its signal is abandoned `settleMs` later, so the drain keeps its deadline.
    timers.push(setTimeout(() => settle({ kind: 'abandoned' }), limits.settleMs));
  };
  const started = Date.now();
  const timeoutAt = started + definition.timeoutMs;
  const abortAt = Math.min(timeoutAt, limits.leaseEnd, limits.stopAt);
  const why =
    abortAt === timeoutAt ? `timed out after ${definition.timeoutMs} ms`
    : abortAt === limits.leaseEnd ? 'lease ran out before the job finished'
    : 'the drain reached its deadline';
  timers.push(setTimeout(() => abort(why), Math.max(0, abortAt - started)));
  const stopped = () => abort('the drain reached its deadline');
  onStop.add(stopped);

  const ctx = {
    job: { id: job.id, type: job.type, attempt: job.attempts, maxAttempts: job.max_attempts, createdAt: new Date(job.created_at) },
    get signal(): AbortSignal {
      if (!controller) {
        controller = new AbortController();
        if (abortedBy) controller.abort(abortedBy);
      }
      return controller.signal;
    },
    db,
  };
  try {
    const result = await new Promise<Settled>((resolve) => {
      settle = resolve;
      try {
        // Promise.resolve: a plain (non-async) handler returning nothing has succeeded too.
        Promise.resolve(definition.handler(parsed.data, ctx)).then(() => resolve({ kind: 'ok' }), (error: unknown) => resolve({ kind: 'threw', error }));
      } catch (error) {
        resolve({ kind: 'threw', error }); // a handler that throws before returning its promise
      }
    });
    if (result.kind === 'ok') return { id: job.id, token, kind: 'done' };
    if (result.kind === 'abandoned') {
      // It may still be running: keep others off the job until its lease would have ended anyway.
      return failure(job, token, definition, `${abortedBy!.message}, and the handler did not stop`, limits.leaseEnd - Date.now());
    }
    const { error } = result;
    if (error instanceof PermanentError) return { id: job.id, token, kind: 'dead', error: describeError(error) };
    if (error instanceof RetryLaterError) return { id: job.id, token, kind: 'release', delay_ms: error.delayMs, error: describeError(error) };
    return failure(job, token, definition, (abortedBy ? `${abortedBy.message}: ` : '') + describeError(error));
  } finally {
    timers.forEach(clearTimeout);
    onStop.delete(stopped);
  }
}

type Settled = { kind: 'ok' } | { kind: 'abandoned' } | { kind: 'threw'; error: unknown };

/** zod's synchronous parse, or its async one for schemas with async refinements. */
async function parsePayload(definition: JobDefinition, payload: unknown) {
  try {
    return definition.payload.safeParse(payload);
  } catch {
    return definition.payload.safeParseAsync(payload);
  }
}
