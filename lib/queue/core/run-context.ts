/**
 * A run's context: what the drain gives a run (its limits, its control) and what a handler gets as
 * `ctx` (RunContext): its job, signal, steps, waits, heartbeat and progress.
 */
import type { Db } from '../db.js';
import { describeError } from '../errors.js';
import { jsonDepthExceeds, jsonUnstorable, MAX_JSON_DEPTH } from '../json.js';
import type { InvokeOptions, JobContext, JobDefinition, JobRegistry, WaitForEventOptions } from './jobs.js';
import { StepRunner, type StepOptions } from './steps.js';
import type { StepEstimates } from './step-fit.js';
import type { ClaimedJob } from './queries-drain.js';
import { WaitRunner } from './waits.js';
import { monotonicNow } from '../clock.js';

/** Why a run's signal fired. */
export class AbortReason extends Error {
  override name = 'AbortReason';
}

export interface RunLimits {
  /** Epoch ms at which the signal fires because the drain is stopping. */
  stopAt: number;
  /** After the signal fires, how long a handler may take to settle before the drain gives up on it. */
  settleMs: number;
  /** Largest durable step result, in bytes of JSON. */
  maxStepBytes: number;
  /** Largest job result (what the handler returns), in bytes of JSON. */
  maxResultBytes: number;
  /** A whole pass's running time (from its start to stopAt), ms: what a fresh run would have. */
  passMs: number;
  /** The pass's estimates of steps' durations. */
  estimates: StepEstimates;
  /** The app's job definitions (an invoke's child must be one of them). */
  jobs: JobRegistry;
}

/** Largest ctx.progress() value, in bytes of JSON: a UI's status, not a data channel. */
export const MAX_PROGRESS_BYTES = 16 * 1024;

/** How the drain reaches a run: it stops it (deadline, lost lease) and renews its lease on demand. */
export interface RunControl {
  /** Functions the drain calls as it stops. */
  readonly onStop: Set<() => void>;
  /** When the job's lease ends (epoch ms, local clock): the drain's heartbeats move it on. */
  readonly leaseEnd: number;
  /** Set by the run: aborts it (the drain found its lease lost, could not renew it in time, or saw a
   *  cancel: then the reason is a JobCancelledError). */
  abort?: (why: string | Error) => void;
  /** The drain saw a cancel of the job: a run not started does not start, and a run that ends is cancelled
   *  whatever its handler did. */
  readonly cancelled: boolean;
  /** ctx.heartbeat(): renews this job's lease now; rejects once it is lost. */
  heartbeat(): Promise<void>;
  /** ctx.progress(): keeps the latest value (JSON) for the next heartbeat to write. */
  report(json: string): void;
  /** The value not yet written by a heartbeat, if any: the outcome writes it. */
  takeProgress(): string | undefined;
}

/**
 * What a handler gets as `ctx`. A class, so a job costs one object: the AbortController is made only
 * if the handler reads ctx.signal, and the steps only on its first step (at tens of thousands of jobs a
 * second, a controller with listeners and a closure or two per job are a large share of the CPU).
 */
export class RunContext implements JobContext {
  readonly job: JobContext['job'];
  abortedBy: Error | undefined;
  steps: StepRunner | undefined;
  /** Set by the run: ends it (a wait ends it with a Suspension). */
  settle: ((result: { kind: 'threw'; error: unknown }) => void) | undefined;
  private waits: WaitRunner | undefined;
  private controller: AbortController | undefined;
  private readonly startedAt = monotonicNow();

  constructor(
    claimed: ClaimedJob,
    private readonly token: string,
    readonly db: Db,
    private readonly limits: RunLimits,
    private readonly control: RunControl,
    private readonly timeoutMs: number,
  ) {
    this.job = { id: claimed.id, type: claimed.type, attempt: claimed.attempts, maxAttempts: claimed.max_attempts, createdAt: new Date(claimed.created_at) };
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedBy) this.controller.abort(this.abortedBy);
    }
    return this.controller.signal;
  }

  /** Fires the signal, once: whether this call did. */
  abortWith(reason: Error): boolean {
    if (this.abortedBy) return false;
    this.abortedBy = reason;
    this.controller?.abort(reason);
    return true;
  }

  step<T>(name: string, fn: (db: Db) => Promise<T> | T, options?: StepOptions): Promise<T> {
    // Tracked: a run does not wait while a step runs (it may lead to more calls).
    return this.waitRunner().track(this.stepRunner().step(name, fn, options));
  }

  sleep(name: string, ms: number): Promise<void> {
    return this.waitRunner().track(this.stepRunner().sleep(name, ms));
  }

  invoke(name: string, job: JobDefinition, payload: unknown, options?: InvokeOptions): Promise<never> {
    return this.waitRunner().invoke(name, job, payload, options) as Promise<never>;
  }

  waitForEvent<T>(name: string, options: WaitForEventOptions): Promise<T | null> {
    return this.waitRunner().waitForEvent(name, options) as Promise<T | null>;
  }

  private waitRunner(): WaitRunner {
    return (this.waits ??= new WaitRunner(this.stepRunner(), { jobs: this.limits.jobs, suspend: (s) => this.settle?.({ kind: 'threw', error: s }) }));
  }

  heartbeat(): Promise<void> {
    return this.control.heartbeat();
  }

  progress(value: unknown): Promise<void> {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new TypeError(`ctx.progress() needs a JSON value: ${describeError(error)}`);
    }
    if (json === undefined) throw new TypeError('ctx.progress() needs a JSON value, got undefined');
    if (json.length * 3 > MAX_PROGRESS_BYTES && Buffer.byteLength(json) > MAX_PROGRESS_BYTES) {
      throw new TypeError(`ctx.progress() got ${Buffer.byteLength(json)} bytes of JSON; the limit is ${MAX_PROGRESS_BYTES}`);
    }
    if (jsonUnstorable(json) || jsonDepthExceeds(json, MAX_JSON_DEPTH)) {
      throw new TypeError(`ctx.progress() got JSON Postgres cannot store (a NUL, a lone surrogate, or nesting deeper than ${MAX_JSON_DEPTH})`);
    }
    this.control.report(json);
    return Promise.resolve();
  }

  private stepRunner(): StepRunner {
    if (this.steps) return this.steps;
    const { limits, timeoutMs } = this;
    // A step must end before the drain stops and before this run's timeout; a fresh run has a whole pass, or its timeout.
    const timeoutAt = this.startedAt + timeoutMs;
    const time = { startedAt: this.startedAt, endsAt: Math.min(limits.stopAt, timeoutAt), endsBy: limits.stopAt <= timeoutAt ? 'stop' as const : 'timeout' as const, freshMs: Math.min(limits.passMs, timeoutMs) };
    return (this.steps = new StepRunner({
      db: this.db, jobId: this.job.id, type: this.job.type, token: this.token, time, estimates: limits.estimates, maxResultBytes: limits.maxStepBytes,
      throwIfAborted: () => { if (this.abortedBy) throw this.abortedBy; },
    }));
  }
}
