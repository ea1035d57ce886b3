import type { z } from 'zod';
import { config } from '../config.js';
import type { Db } from '../db.js';
import { describeError, PermanentError, RetryLaterError } from '../errors.js';
import { jsonDepthExceeds, jsonUnstorable, MAX_JSON_DEPTH } from '../json.js';
import type { JobDefinition } from './jobs.js';
import { StepResultError, StepYield } from './steps.js';
import type { ClaimedJob, Outcome } from './queries-drain.js';
import { AbortReason, RunContext, type RunControl, type RunLimits } from './run-context.js';
import { log } from '../log.js';
import { backoffDelayMs } from './retry.js';
import { Suspension, waitTargets } from './waits.js';
import { eventLocks, jobWait } from './queries-waits.js';
import { monotonicNow } from '../clock.js';

type Attempted = Pick<ClaimedJob, 'id' | 'attempts' | 'max_attempts'>;

/** Failure outcome: retry after backoff (at least `minDelayMs`), or dead once every attempt is spent. */
export function failure(job: Attempted, token: string, definition: JobDefinition | undefined, error: string, minDelayMs = 0): Outcome {
  const text = `attempt ${job.attempts}/${job.max_attempts}: ${error}`;
  if (job.attempts >= job.max_attempts) return { id: job.id, token, kind: 'dead', error: text };
  const delay_ms = Math.max(minDelayMs, backoffDelayMs(job.attempts, definition?.backoff));
  return { id: job.id, token, kind: 'retry', delay_ms, error: text };
}

/**
 * The log line of a job gone dead: a human has to look at it (or retry it). Its payload only with
 * SLUICE_LOG_PAYLOADS (and only when the drain has it: a rescued job's claim did not read it).
 */
export function logDead(job: Attempted & { type: string; payload?: unknown }, outcome: Outcome): void {
  const payload = 'payload' in job && logPayloads() ? { payload: job.payload } : {};
  log.warn('job dead', { jobId: job.id, type: job.type, attempt: job.attempts, maxAttempts: job.max_attempts, error: outcome.error, ...payload });
}

const logPayloads = () => {
  try {
    return config().SLUICE_LOG_PAYLOADS;
  } catch {
    return false;
  }
};

/**
 * Runs one claimed job and says what became of it; never throws (anything unexpected, even from
 * sluice itself, is a failure of that job, not of the drain). The signal fires at the job's timeout,
 * when its lease ends, or when the drain stops (it calls every function in `onStop`), whichever is first.
 */
export async function runJob(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, control: RunControl,
): Promise<Outcome> {
  try {
    return await run(job, token, definition, db, limits, control);
  } catch (error) {
    return failure(job, token, definition, `could not run the handler: ${describeError(error)}`);
  }
}

async function run(
  job: ClaimedJob, token: string, definition: JobDefinition | undefined, db: Db, limits: RunLimits, control: RunControl,
): Promise<Outcome> {
  if (!definition) return { id: job.id, token, kind: 'dead', error: `unknown job type "${job.type}"` };
  const parsed = await parsePayload(definition, job.payload);
  if (!parsed.success) {
    return { id: job.id, token, kind: 'dead', error: `payload failed validation: ${describeError(parsed.error)}` };
  }

  let settle: (result: Settled) => void = () => {};
  const timers: NodeJS.Timeout[] = [];
  const ctx = new RunContext(job, token, db, limits, control, definition.timeoutMs);
  const abort = (reason: string | Error) => {
    if (!ctx.abortWith(typeof reason === 'string' ? new AbortReason(reason) : reason)) return;
    // A handler that ignores its signal is abandoned `settleMs` later, so the drain keeps its deadline.
    timers.push(setTimeout(() => settle({ kind: 'abandoned' }), limits.settleMs));
  };
  // One timer a job: the timeout or the drain's stop, whichever is first. A lost lease or a cancel is
  // the drain's to notice (its heartbeats), through control.abort and control.cancel.
  const started = monotonicNow();
  const timeoutAt = started + definition.timeoutMs;
  const abortAt = Math.min(timeoutAt, limits.stopAt);
  const why = abortAt === timeoutAt ? `timed out after ${definition.timeoutMs} ms` : 'the drain reached its deadline';
  timers.push(setTimeout(() => abort(why), Math.max(0, abortAt - started)));
  const stopped = () => abort('the drain reached its deadline');
  control.onStop.add(stopped);
  control.abort = abort;
  try {
    if (control.cancelled) return { id: job.id, token, kind: 'cancelled' };
    const result = await new Promise<Settled>((resolve) => {
      settle = resolve;
      ctx.settle = resolve; // the run's own resolve, no closure more per job: a wait ends the run through it
      try {
        // Promise.resolve: a plain (non-async) handler returning nothing has succeeded too.
        Promise.resolve(definition.handler(parsed.data, ctx)).then((value) => resolve({ kind: 'ok', value }), (error: unknown) => resolve({ kind: 'threw', error }));
      } catch (error) {
        resolve({ kind: 'threw', error }); // a handler that throws before returning its promise
      }
    });
    // Only a run that returned something, or whose job checks its result, pays for this.
    const cancelled = control.cancelled;
    const stored = result.kind === 'ok' && !cancelled && (result.value !== undefined || definition.result !== null)
      ? await resultJson(definition, result.value, limits.maxResultBytes)
      : undefined;
    if (result.kind === 'threw' && result.error instanceof Suspension && !cancelled) {
      // Whatever else the handler does meanwhile is to stop: its job is no longer its run's.
      ctx.abortWith(new AbortReason('the job is waiting'));
      const waited = await writeWait(db, job, token, definition, result.error, control);
      if (waited) return waited;
    }
    const outcome = settled(result, stored, job, token, definition, control, ctx, cancelled);
    const progress = control.takeProgress();
    return progress === undefined ? outcome : { ...outcome, progress };
  } finally {
    timers.forEach(clearTimeout);
    control.onStop.delete(stopped);
    control.abort = undefined;
  }
}

/** The outcome of a run that settled (or was abandoned). */
function settled(
  result: Settled, stored: Awaited<ReturnType<typeof resultJson>>, job: ClaimedJob, token: string, definition: JobDefinition, control: RunControl, ctx: RunContext, cancelled: boolean,
): Outcome {
  const abortedBy = ctx.abortedBy;
  const steps = ctx.steps;
  // Not retried, however the handler ended: the job was cancelled.
  if (cancelled) return { id: job.id, token, kind: 'cancelled', steps: steps?.used };
  if (result.kind === 'ok') {
    if (stored === undefined) return { id: job.id, token, kind: 'done', steps: steps?.used };
    if (typeof stored !== 'string') return failure(job, token, definition, stored.error);
    return { id: job.id, token, kind: 'done', steps: steps?.used, result: stored };
  }
  if (result.kind === 'abandoned') {
    // It may still be running: keep others off the job until its lease would have ended anyway.
    return failure(job, token, definition, `${abortedBy!.message}, and the handler did not stop`, control.leaseEnd - monotonicNow());
  }
  const { error } = result;
  // A wait whose write failed (run-job's writeWait): pending again, to look once more.
  if (error instanceof Suspension) return { id: job.id, token, kind: 'release', error: 'could not write the job\'s wait: it looks again' };
  if (error instanceof StepYield) {
    return { id: job.id, token, kind: 'release', delay_ms: error.delayMs, error: error.reason, ...(error.handedBack ? { handedBack: error.handedBack } : {}) };
  }
  // Cut off by the drain's deadline after finishing steps: progress, so the attempt goes back. A run
  // that finishes no step spends its attempt, so a job whose step never fits a drain still ends.
  if (abortedBy?.message === 'the drain reached its deadline' && steps !== undefined && steps.finished > 0) {
    return { id: job.id, token, kind: 'release', handedBack: 'stop', error: `handed back at the drain's deadline after ${steps.finished} new step(s)` };
  }
  if (error instanceof PermanentError || error instanceof StepResultError) return { id: job.id, token, kind: 'dead', error: describeError(error) };
  if (error instanceof RetryLaterError) return { id: job.id, token, kind: 'release', delay_ms: error.delayMs, error: describeError(error) };
  return failure(job, token, definition, (abortedBy ? `${abortedBy.message}: ` : '') + describeError(error));
}

/**
 * Lets go of the job to wait (queries-waits.ts' jobWait, with the locks of the events it waits for):
 * the outcome, already written, or undefined when it was not (the lease was lost or a cancel came, or
 * the write failed: the usual outcome write settles the job).
 */
async function writeWait(db: Db, job: ClaimedJob, token: string, definition: JobDefinition, s: Suspension, control: RunControl): Promise<Outcome | undefined> {
  const { tags, names, keys, untilMs } = waitTargets(s);
  const progress = control.takeProgress();
  const write = { id: job.id, token, deliveries: s.deliveries, tags, names, keys, taken: [...s.taken], untilMs, progress: progress ?? null, concurrency: definition.concurrency !== null };
  try {
    const status = tags.length === 0 ? await jobWait(db, write) : await db.transaction(async (tx) => {
      await eventLocks(tx, tags);
      return jobWait(tx, write);
    });
    // delay_ms: when it is due again (the drain's idle hint must bring a tick for a wait's timeout).
    if (status !== undefined) return { id: job.id, token, kind: 'waiting', delay_ms: status === 'pending' ? 0 : Math.max(0, untilMs - Date.now()) };
  } catch (error) {
    log.warn('could not write a job\'s wait: it goes back to pending to look again', { jobId: job.id, type: job.type, error });
  }
  if (progress !== undefined) control.report(progress);
  return undefined;
}

/**
 * What a handler returned, checked by the job's `result` schema when it has one, as the JSON text to
 * store: undefined when there is nothing to store, `{ error }` when it cannot be stored (a failed run).
 */
async function resultJson(definition: JobDefinition, value: unknown, maxBytes: number): Promise<string | undefined | { error: string }> {
  let output = value;
  if (definition.result !== null) {
    const parsed = await parseWith(definition.result, value);
    if (!parsed.success) return { error: `the handler's result failed its schema: ${describeError(parsed.error)}` };
    output = parsed.data;
  }
  if (output === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(output);
  } catch (error) {
    return { error: `the handler returned a value JSON cannot hold: ${describeError(error)}` };
  }
  if (json === undefined) return undefined; // a function or a symbol: nothing JSON can say
  if (json.length * 3 > maxBytes && Buffer.byteLength(json) > maxBytes) {
    return { error: `the handler returned ${Buffer.byteLength(json)} bytes of JSON; the limit is ${maxBytes} (SLUICE_MAX_RESULT_BYTES)` };
  }
  if (jsonUnstorable(json) || jsonDepthExceeds(json, MAX_JSON_DEPTH)) {
    return { error: `the handler returned JSON Postgres cannot store (a NUL, a lone surrogate, or nesting deeper than ${MAX_JSON_DEPTH})` };
  }
  return json;
}

type Settled = { kind: 'ok'; value: unknown } | { kind: 'abandoned' } | { kind: 'threw'; error: unknown };

/** zod's synchronous parse, or its async one for schemas with async refinements. */
async function parseWith(schema: z.ZodType, value: unknown) {
  try {
    return schema.safeParse(value);
  } catch {
    return schema.safeParseAsync(value);
  }
}

const parsePayload = (definition: JobDefinition, payload: unknown) => parseWith(definition.payload, payload);
