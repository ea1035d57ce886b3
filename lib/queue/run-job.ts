import type { Db } from './db.js';
import { describeError, PermanentError, RetryLaterError } from './errors.js';
import type { JobDefinition } from './jobs.js';
import type { ClaimedJob, Outcome } from './queries.js';
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
 * when its lease ends, or when the drain stops, whichever is first.
 */
export async function runJob(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, stopSignal: AbortSignal,
): Promise<Outcome> {
  try {
    return await run(job, token, definition, db, limits, stopSignal);
  } catch (error) {
    return failure(job, token, definition, `could not run the handler: ${describeError(error)}`);
  }
}

async function run(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, stopSignal: AbortSignal,
): Promise<Outcome> {
  if (!definition) return { id: job.id, token, kind: 'dead', error: `unknown job type "${job.type}"` };
  const parsed = await definition.payload.safeParseAsync(job.payload);
  if (!parsed.success) {
    return { id: job.id, token, kind: 'dead', error: `payload failed validation: ${describeError(parsed.error)}` };
  }

  const controller = new AbortController();
  const started = Date.now();
  const timeoutAt = started + definition.timeoutMs;
  const abortAt = Math.min(timeoutAt, limits.leaseEnd, limits.stopAt);
  const why =
    abortAt === timeoutAt ? `timed out after ${definition.timeoutMs} ms`
    : abortAt === limits.leaseEnd ? 'lease ran out before the job finished'
    : 'the drain reached its deadline';
  const abort = (reason: string) => controller.abort(new AbortReason(reason));
  const onStop = () => abort('the drain reached its deadline');
  stopSignal.addEventListener('abort', onStop, { once: true });
  const timers: NodeJS.Timeout[] = [setTimeout(() => abort(why), Math.max(0, abortAt - started))];
  // A handler that ignores its signal is abandoned `settleMs` after the abort, so the drain keeps its deadline.
  const abandoned = new Promise<'abandoned'>((resolve) => {
    controller.signal.addEventListener('abort', () => timers.push(setTimeout(() => resolve('abandoned'), limits.settleMs)), { once: true });
  });

  const ctx = {
    job: { id: job.id, type: job.type, attempt: job.attempts, maxAttempts: job.max_attempts, createdAt: new Date(job.created_at) },
    signal: controller.signal,
    db,
  };
  try {
    const result = await Promise.race([
      Promise.resolve().then(() => definition.handler(parsed.data, ctx)).then(() => 'ok' as const),
      abandoned,
    ]);
    if (result === 'ok') return { id: job.id, token, kind: 'done' };
    // It may still be running: keep others off the job until its lease would have ended anyway.
    const why = `${(controller.signal.reason as Error).message}, and the handler did not stop`;
    return failure(job, token, definition, why, limits.leaseEnd - Date.now());
  } catch (error) {
    if (error instanceof PermanentError) return { id: job.id, token, kind: 'dead', error: describeError(error) };
    if (error instanceof RetryLaterError) return { id: job.id, token, kind: 'release', delay_ms: error.delayMs, error: describeError(error) };
    const prefix = controller.signal.aborted ? `${(controller.signal.reason as Error).message}: ` : '';
    return failure(job, token, definition, prefix + describeError(error));
  } finally {
    timers.forEach(clearTimeout);
    stopSignal.removeEventListener('abort', onStop);
  }
}
