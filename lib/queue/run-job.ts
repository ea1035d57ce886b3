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
  /** Epoch ms at which the signal fires because the drain is stopping. */
  stopAt: number;
  /** After the signal fires, how long a handler may take to settle before the drain gives up on it. */
  settleMs: number;
}

/** Failure outcome: retry with backoff, or dead once every attempt is spent. */
export function failure(job: Pick<ClaimedJob, 'id' | 'attempts' | 'max_attempts'>, token: string,
  definition: JobDefinition | undefined, error: string): Outcome {
  if (job.attempts >= job.max_attempts) {
    return { id: job.id, token, kind: 'dead', error: `attempt ${job.attempts}/${job.max_attempts}: ${error}` };
  }
  const delay_ms = backoffDelayMs(job.attempts, definition?.backoff);
  return { id: job.id, token, kind: 'retry', delay_ms, error: `attempt ${job.attempts}/${job.max_attempts}: ${error}` };
}

/**
 * Runs one claimed job and says what became of it; never throws. The signal fires at the job's
 * timeout, when its lease runs out, or when the drain stops, whichever is first. A handler that still
 * has not settled `settleMs` later is abandoned (counted as failed) so the drain keeps its deadline.
 */
export async function runJob(
  job: ClaimedJob,
  token: string,
  definition: JobDefinition | undefined,
  db: Db,
  limits: RunLimits,
  stopSignal: AbortSignal,
): Promise<Outcome> {
  if (!definition) return { id: job.id, token, kind: 'dead', error: `unknown job type "${job.type}"` };
  const parsed = definition.payload.safeParse(job.payload);
  if (!parsed.success) {
    return { id: job.id, token, kind: 'dead', error: `payload failed validation: ${describeError(parsed.error)}` };
  }

  const controller = new AbortController();
  const started = Date.now();
  const leaseEnd = Date.parse(job.locked_until);
  const timeoutAt = started + definition.timeoutMs;
  const abortAt = Math.min(timeoutAt, leaseEnd, limits.stopAt);
  const why =
    abortAt === timeoutAt ? `timed out after ${definition.timeoutMs} ms`
    : abortAt === leaseEnd ? 'lease ran out before the job finished'
    : 'the drain reached its deadline';
  const abort = (reason: string) => controller.abort(new AbortReason(reason));
  const onStop = () => abort('the drain reached its deadline');
  stopSignal.addEventListener('abort', onStop, { once: true });
  const timers: NodeJS.Timeout[] = [setTimeout(() => abort(why), Math.max(0, abortAt - started))];
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
    return failure(job, token, definition, `${(controller.signal.reason as Error).message}, and the handler did not stop`);
  } catch (error) {
    if (error instanceof PermanentError) return { id: job.id, token, kind: 'dead', error: describeError(error) };
    if (error instanceof RetryLaterError) {
      return { id: job.id, token, kind: 'release', delay_ms: Math.max(0, error.delayMs), error: describeError(error) };
    }
    const prefix = controller.signal.aborted ? `${(controller.signal.reason as Error).message}: ` : '';
    return failure(job, token, definition, prefix + describeError(error));
  } finally {
    timers.forEach(clearTimeout);
    stopSignal.removeEventListener('abort', onStop);
  }
}
