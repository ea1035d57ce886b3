import type { Db } from '../db.js';
import { SluiceError } from '../errors.js';
import { jsonDepthExceeds, jsonUnstorable, MAX_JSON_DEPTH } from '../json.js';
import { stepResolve, stepSave, stepsOfRun } from './queries-steps.js';
import { monotonicNow } from '../clock.js';
import { log } from '../log.js';
import { holdBack, type RunTime, type StepEstimates } from './step-fit.js';

/** A step's result could not be stored: too large, or not JSON jsonb can hold. The job goes dead (a retry would repeat the step). */
export class StepResultError extends SluiceError {
  constructor(message: string) {
    super('step_result', message);
  }
}

/** The job's lease passed to another run while a step ran: its result was not recorded. */
export class LeaseLostError extends SluiceError {
  constructor() {
    super('lease_lost', 'the job\'s lease passed to another run: this run\'s results are not recorded');
  }
}

/** The longest ctx.sleep: 100 years. */
const MAX_SLEEP_MS = 100 * 365 * 86_400_000;

/**
 * Not an error: the run releases its job (attempt returned) to go on in a later drain, after `delayMs`
 * (null: due as it was, which keeps its place in the queue). `handedBack`: released for time (a step
 * would not fit before the drain's stop or the run's timeout).
 */
export class StepYield {
  constructor(
    readonly delayMs: number | null,
    readonly reason: string,
    readonly handedBack?: 'stop' | 'timeout',
  ) {}
}

export interface StepOptions {
  /** Run `fn` in a transaction that also records the step: its writes on `tx` and the mark commit together. */
  transaction?: boolean;
}

/** What a run's steps need from it. */
export interface StepHost {
  db: Db;
  jobId: string;
  type: string;
  token: string;
  /** When what the run starts must end, and what a fresh run would have: a step that would not end in time is not started. */
  time: RunTime;
  /** The pass's estimates of steps' durations, from their earlier runs. */
  estimates: StepEstimates;
  /** Largest step result, in bytes of JSON. */
  maxResultBytes: number;
  /** Throws the run's abort reason once its signal has fired. */
  throwIfAborted(): void;
}

const NAME = /^[^\0]{1,200}$/u;

/**
 * One run's durable steps: the job's finished steps are read on the first step call (jobs that use no
 * steps never pay for it), replayed by name, and new ones recorded as they finish, each with how long
 * it took. A step is not started when it would not end before the run must stop (step-fit.ts): the job
 * is handed back instead, its attempt returned, and goes on in a fresh invocation.
 */
export class StepRunner {
  /** Steps this run finished (or slept): a run that made progress gives its attempt back when cut off. */
  finished = 0;
  private stored: Map<string, unknown> | undefined;
  private loading: Promise<Map<string, unknown>> | undefined;
  /** The job's delivery count when its steps were read (load). */
  deliveries = 0;
  private readonly seen = new Set<string>();
  private longestMs = 0;

  constructor(readonly host: StepHost) {}

  /** Whether this run touched steps at all (its job's steps are deleted with it when it succeeds). */
  get used(): boolean {
    return this.stored !== undefined;
  }

  async step<T>(name: string, fn: (db: Db) => Promise<T> | T, options: StepOptions = {}): Promise<T> {
    const stored = await this.begin(name);
    if (stored.has(name)) return stored.get(name) as T;
    await this.ensureFits(name);
    let json = '';
    let tookMs = 0;
    const record = async (db: Db, started: number, value: T) => {
      tookMs = monotonicNow() - started;
      json = this.serialize(name, value);
      if (!(await stepSave(db, this.host.jobId, this.host.token, name, json, { type: this.host.type, ms: tookMs }))) throw new LeaseLostError();
    };
    const run = async (db: Db) => {
      const started = monotonicNow();
      return record(db, started, await fn(db));
    };
    if (options.transaction) await this.host.db.transaction(run);
    else await run(this.host.db);
    this.longestMs = Math.max(this.longestMs, tookMs);
    this.finished++;
    // The first run sees what every replay will: the value as JSON gives it back.
    const value = JSON.parse(json) as T;
    stored.set(name, value);
    return value;
  }

  /** A durable sleep: the job is handed back, attempt returned, and resumes after `ms` in a later drain. */
  async sleep(name: string, ms: number): Promise<void> {
    // Bounded so that its end is a date (past about 270,000 years there is none, and the run would fail
    // on every attempt at the step it saved).
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) throw new TypeError(`ctx.sleep("${name}") needs a number of ms from 0 to at most ${MAX_SLEEP_MS} (100 years), got ${ms}`);
    const stored = await this.begin(name);
    let until = (stored.get(name) as { until?: number } | undefined)?.until;
    if (until === undefined) {
      until = Date.now() + ms;
      if (!(await stepSave(this.host.db, this.host.jobId, this.host.token, name, JSON.stringify({ until })))) throw new LeaseLostError();
      stored.set(name, { until });
      this.finished++;
    }
    const left = until - Date.now();
    if (left > 0) throw new StepYield(left, `sleeping until ${new Date(until).toISOString()} (step "${name}")`);
  }

  /**
   * Hands the job back (a StepYield) when the durable call `name`, about to start, would not end before
   * the run must stop: for steps, and for any durable call that takes time (invokes, waits), which calls
   * it once it knows the call is not already done.
   */
  async ensureFits(name: string): Promise<void> {
    const history = (await this.host.estimates.of(this.host.type)).get(name);
    const call = { name, history, longestThisRunMs: this.longestMs, progressed: this.finished > 0 };
    const held = holdBack(call, this.host.time, monotonicNow());
    if (held === null) return;
    const { estimateMs, leftMs, basis } = held;
    log.info('job handed back: its next step would not fit', { jobId: this.host.jobId, type: this.host.type, step: name, estimateMs, leftMs });
    const before = this.host.time.endsBy === 'stop' ? 'the drain stops' : 'the run\'s timeout';
    throw new StepYield(null, `handed back before step "${name}": it takes about ${estimateMs} ms (${basis}), ${leftMs} ms were left before ${before}`, this.host.time.endsBy);
  }

  /** Replaces a durable call's stored value once it resolved (an invoke's child completed, a wait's event came). */
  async resolve(name: string, value: unknown): Promise<void> {
    const json = this.serialize(name, value);
    if (!(await stepResolve(this.host.db, this.host.jobId, this.host.token, name, json))) throw new LeaseLostError();
    this.stored?.set(name, JSON.parse(json));
  }

  /** The stored values of the job's steps, as loaded by its first durable call and recorded since. */
  storedValues(): Iterable<unknown> {
    return this.stored?.values() ?? [];
  }

  /** Checks the name, loads the finished steps once, and stops a run whose signal fired. */
  private async begin(name: string): Promise<Map<string, unknown>> {
    if (typeof name !== 'string' || !NAME.test(name)) throw new TypeError('a step name is a string of 1-200 characters without NUL');
    if (this.seen.has(name)) throw new TypeError(`step "${name}" is used twice in one run: give each step its own name`);
    this.seen.add(name);
    this.host.throwIfAborted();
    return this.load();
  }

  /**
   * The job's finished steps, read once per run (with its delivery count, which waits compare: the read
   * comes before any of them looks at a child or an event).
   */
  load(): Promise<Map<string, unknown>> {
    return (this.loading ??= (async () => {
      // The type's estimates load alongside (once per pass): a step that is not stored needs them.
      void this.host.estimates.of(this.host.type);
      const run = await stepsOfRun(this.host.db, this.host.jobId);
      this.deliveries = run.deliveries;
      return (this.stored = new Map(run.steps.map((s) => [s.name, s.result])));
    })());
  }

  private serialize(name: string, value: unknown): string {
    let json: string;
    try {
      json = JSON.stringify(value ?? null) ?? 'null';
    } catch (error) {
      throw new StepResultError(`step "${name}" returned a value JSON cannot hold: ${(error as Error).message}`);
    }
    if (json.length * 3 > this.host.maxResultBytes && Buffer.byteLength(json) > this.host.maxResultBytes) {
      throw new StepResultError(`step "${name}" returned ${Buffer.byteLength(json)} bytes of JSON; the limit is ${this.host.maxResultBytes} (SLUICE_MAX_STEP_BYTES)`);
    }
    if (jsonUnstorable(json) || jsonDepthExceeds(json, MAX_JSON_DEPTH)) {
      throw new StepResultError(`step "${name}" returned JSON Postgres cannot store (a NUL, a lone surrogate, or nesting deeper than ${MAX_JSON_DEPTH})`);
    }
    return json;
  }
}
