/**
 * A run's durable waits: ctx.invoke (a child job, awaited) and ctx.waitForEvent. Each is a step of the
 * job (steps.ts): an invoke records its child with the child's insert, in one transaction, so the child
 * is enqueued once per job and name; a wait records when it times out. A call that must wait blocks:
 * its promise never settles, and once every durable call the handler started is blocked or done, the
 * run lets go of its job, which goes waiting (no lease, no drain slot, no connection) until a child ends,
 * the event comes or the deadline passes, and then replays to where it was.
 */
import { SluiceError } from '../errors.js';
import type { JobDefinition, JobRegistry, InvokeOptions, WaitForEventOptions } from './jobs.js';
import { toRow } from './enqueue.js';
import { childInsert, childrenOf, eventFind, eventTag, type ChildRow } from './queries-waits.js';
import { LeaseLostError, type StepRunner } from './steps.js';
import { checkEventName } from './events.js';

/** A child job a parent's invoke awaited went dead, was cancelled, or is gone (deleted by hand, or past its retention). */
export class ChildJobError extends SluiceError {
  constructor(
    readonly childId: string,
    readonly status: 'dead' | 'cancelled' | 'gone',
    readonly error: string | null,
  ) {
    super('child_job', `child job ${childId} ${status === 'gone' ? 'is gone' : `is ${status}`}${error ? `: ${error}` : ''}`);
  }
}

/** How long a parent waits before it looks at its children again by itself: a delivery that never came (a child deleted by hand). */
const CHILD_RECHECK_MS = 86_400_000;

/** The longest waitForEvent timeout: a year. */
export const MAX_WAIT_MS = 365 * 86_400_000;

/** What a blocked call waits for. */
export type Block = { untilMs: number } & ({ kind: 'child' } | { kind: 'event'; name: string; key: string });

/**
 * Not an error: every durable call of the run is blocked or done, so the run lets go of its job to
 * wait (run-job.ts writes it). `deliveries` is the job's delivery count read before the calls looked.
 */
export class Suspension {
  constructor(
    readonly blocks: readonly Block[],
    readonly deliveries: number,
    readonly taken: readonly string[],
  ) {}
}

const BLOCKED = Symbol('blocked');

/** What waits need of their run besides its steps. */
export interface WaitHost {
  /** The app's job definitions: a child's type must be one of them, or no drain of the app would run it. */
  jobs: JobRegistry;
  /** Ends the run with a Suspension (its handler's promise is left to settle never). */
  suspend(suspension: Suspension): void;
}

/** One run's invokes and waits, and the count of durable calls under way that decides when it waits. */
export class WaitRunner {
  private busy = 0;
  private readonly blocks: Block[] = [];
  private readonly takenNow = new Set<string>();
  private childRows: Promise<Map<string, ChildRow>> | undefined;
  private readonly enqueuedNow = new Set<string>();
  private checking = false;

  constructor(
    private readonly steps: StepRunner,
    private readonly host: WaitHost,
  ) {}

  /** Counts a step (or sleep) under way: the run does not wait while one runs, as it may lead to more calls. */
  track<T>(call: Promise<T>): Promise<T> {
    this.busy++;
    void call.then(this.settled, this.settled);
    return call;
  }

  invoke<J extends JobDefinition>(name: string, job: J, payload: unknown, options: InvokeOptions = {}): Promise<unknown> {
    return this.call(() => this.invokeWork(name, job, payload, options));
  }

  waitForEvent(name: string, options: WaitForEventOptions): Promise<unknown> {
    return this.call(() => this.waitWork(name, options));
  }

  private readonly settled = () => {
    this.busy--;
    this.check();
  };

  private async call<T>(work: () => Promise<T | typeof BLOCKED>): Promise<T> {
    this.busy++;
    let value: T | typeof BLOCKED;
    try {
      value = await work();
    } finally {
      this.settled();
    }
    return value === BLOCKED ? new Promise<T>(() => {}) : value;
  }

  /** Once nothing runs and something is blocked, after the calls started in the same turn have begun. */
  private check(): void {
    if (this.busy > 0 || this.blocks.length === 0 || this.checking) return;
    this.checking = true;
    setImmediate(() => {
      this.checking = false;
      if (this.busy > 0 || this.blocks.length === 0) return;
      this.host.suspend(new Suspension(this.blocks, this.steps.deliveries, this.taken()));
    });
  }

  // Each call is a step: its first statement reads the job's steps and delivery count (StepRunner.load),
  // before the call inserts a child or looks at children or events.
  private async invokeWork(name: string, job: JobDefinition, payload: unknown, options: InvokeOptions): Promise<unknown> {
    const { host } = this.steps;
    const record = await this.steps.step(name, async (tx) => {
      // Checked only for a child not yet enqueued: a replay after a deploy that dropped its type still finds it.
      if (this.host.jobs.get(job?.type) !== job) throw new TypeError(`ctx.invoke("${name}"): job type "${job?.type}" is not one of this app's jobs, so none of its drains would run it`);
      const { delayMs, runAt, priority, maxAttempts } = options;
      // A bad payload fails the parent's run, as a bad enqueue would.
      const row = toRow({ job, payload, delayMs, runAt, priority, maxAttempts } as never, this.host.jobs, Number.MAX_SAFE_INTEGER);
      const child = await childInsert(tx, row, host.jobId, name);
      if (child === undefined) throw new LeaseLostError();
      this.enqueuedNow.add(child);
      return { child };
    }, { transaction: true }) as { child: string; done?: true; result?: unknown };
    // JSON has no undefined: a child that returned nothing resolves undefined on every run, stored as null.
    if (record.done) return record.result ?? undefined;
    // Enqueued by this run: still to run (and not among the children this run read).
    if (this.enqueuedNow.has(record.child)) return this.block({ kind: 'child', untilMs: Date.now() + CHILD_RECHECK_MS });
    const found = (await this.children()).get(record.child);
    if (found === undefined) throw new ChildJobError(record.child, 'gone', null);
    if (found.status === 'completed') {
      // Kept in the parent's step: the child's row goes at its retention, the parent may replay later.
      await this.steps.resolve(name, { child: record.child, done: true, result: found.result ?? null });
      return found.result ?? undefined;
    }
    if (found.status === 'dead' || found.status === 'cancelled') throw new ChildJobError(record.child, found.status, found.last_error);
    return this.block({ kind: 'child', untilMs: Date.now() + CHILD_RECHECK_MS });
  }

  private block(block: Block): typeof BLOCKED {
    this.blocks.push(block);
    return BLOCKED;
  }

  /** The job's children as they were when this run first looked (read after the delivery count): one read a run, however many invokes replay. */
  private children(): Promise<Map<string, ChildRow>> {
    return (this.childRows ??= childrenOf(this.steps.host.db, this.steps.host.jobId));
  }

  private async waitWork(name: string, options: WaitForEventOptions): Promise<unknown> {
    const { event, key = '', timeoutMs } = options ?? ({} as WaitForEventOptions);
    checkEventName(event, key, `ctx.waitForEvent("${name}")`);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_WAIT_MS) {
      throw new TypeError(`ctx.waitForEvent("${name}") needs timeoutMs, an integer from 1 to ${MAX_WAIT_MS} (a year), got ${timeoutMs}`);
    }
    const record = await this.steps.step(name, () => ({ until: Date.now() + timeoutMs })) as { until: number; event?: { id: string; data: unknown }; timedOut?: true };
    if (record.event) return record.event.data ?? null;
    if (record.timedOut) return null;
    const { host } = this.steps;
    const found = await eventFind(host.db, host.jobId, event, key, this.taken());
    if (found && !this.takenNow.has(found.id)) {
      this.takenNow.add(found.id);
      await this.steps.resolve(name, { until: record.until, event: { id: found.id, data: found.data ?? null } });
      return found.data ?? null;
    }
    if (Date.now() >= record.until) {
      await this.steps.resolve(name, { until: record.until, timedOut: true });
      return null;
    }
    return this.block({ kind: 'event', name: event, key, untilMs: record.until });
  }

  /** Events the job's waits took already (stored, or taken in this run). */
  private taken(): string[] {
    const ids = new Set(this.takenNow);
    for (const value of this.steps.storedValues()) {
      const id = (value as { event?: { id?: unknown } } | null)?.event?.id;
      if (typeof id === 'string') ids.add(id);
    }
    return [...ids];
  }
}

/** The tags, names and keys of a suspension's event waits, and when its wait ends. */
export function waitTargets(s: Suspension) {
  const events = s.blocks.filter((b): b is Extract<Block, { kind: 'event' }> => b.kind === 'event');
  return {
    tags: events.map((e) => eventTag(e.name, e.key)),
    names: events.map((e) => e.name),
    keys: events.map((e) => e.key),
    untilMs: Math.min(...s.blocks.map((b) => b.untilMs)),
  };
}
