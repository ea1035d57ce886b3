import type { Db } from '../db.js';
import { type ClaimedJob, jobHeartbeat } from './queries-drain.js';
import type { RunControl } from './run-context.js';
import { LeaseLostError } from './steps.js';
import { monotonicNow } from '../clock.js';
import { JobCancelledError } from '../errors.js';

/** Progress is written at most this often per pass (with a heartbeat), however often handlers report it. */
export const PROGRESS_FLUSH_MS = 500;

/**
 * A job a pass holds: claimed, running or waiting to start, with its lease by the local clock. A class,
 * not a literal with closures: a busy pass makes tens of thousands a second.
 */
export class Held implements RunControl {
  /** A heartbeat found the job's lease taken by another run: this pass must not start or settle it. */
  lost = false;
  /** A heartbeat found a cancel of the job asked for: it is stopped, or never started. */
  cancelled = false;
  /** When its run started (monotonic ms); 0 while it waits to start. */
  startedAt = 0;
  /** The run's latest ctx.progress() value (JSON), until a heartbeat or its outcome writes it. */
  progress: string | undefined;
  abort?: (why: string | Error) => void;

  constructor(
    readonly job: ClaimedJob,
    readonly token: string,
    /** When the lease ends (epoch ms): moved on by each heartbeat. */
    public leaseEnd: number,
    private readonly keeper: LeaseKeeper,
  ) {}

  get onStop(): Set<() => void> {
    return this.keeper.onStop;
  }

  heartbeat(): Promise<void> {
    return this.keeper.beat([this], true);
  }

  report(json: string): void {
    this.progress = json;
    this.keeper.progressed();
  }

  takeProgress(): string | undefined {
    const json = this.progress;
    this.progress = undefined;
    return json;
  }
}

/**
 * The heartbeats of one pass (issue 11). A claimed job's lease lasts `leaseMs`; every third of that,
 * the keeper renews (one statement for all of them) the leases of the jobs held longer than that, so a
 * job runs as long as its timeout allows while its drain lives, and a dead drain's jobs are rescued at
 * most `leaseMs` after it died. Fast jobs settle before their first renewal: a busy pass of short jobs
 * sends no heartbeat at all. A job found lost is aborted, or never started; so is a running job whose
 * lease would end before the next heartbeat because this one failed (a little early rather than late:
 * past its lease another drain may start it).
 *
 * The same statement carries what the running jobs reported with ctx.progress() and answers which of them
 * were cancelled: a job that has run for a sixth of a lease is renewed at every interval, so its cancel is
 * seen within one interval (leaseMs / 3). Progress reported between intervals is written at most every
 * PROGRESS_FLUSH_MS by a heartbeat of the jobs that reported it.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private lastProgressAt = -Infinity;
  private beating = false; // one periodic heartbeat at a time: a slow database does not pile them up
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly flow: boolean,
    readonly onStop: Set<() => void>,
  ) {}

  /** Starts holding a job whose lease ends at `leaseEnd`. */
  hold(job: ClaimedJob, token: string, leaseEnd: number): Held {
    const held = new Held(job, token, leaseEnd, this);
    this.held.set(job.id, held);
    if (!this.closed) this.timer ??= setInterval(() => this.checkLeases(), this.leaseMs / 3);
    return held;
  }

  /** The pass settled the job (or gave it back) under this claim: no more heartbeats for it. */
  drop(id: string, token: string): void {
    if (this.held.get(id)?.token !== token) return; // a later claim of the same job holds it now
    this.held.delete(id);
    if (this.held.size === 0) this.stop();
  }

  /** The pass is over: heartbeats stop for good. */
  close(): void {
    this.closed = true;
    this.stop();
  }

  /** A run reported progress: a heartbeat of the jobs with unwritten progress goes within PROGRESS_FLUSH_MS. */
  progressed(): void {
    if (this.closed || this.progressTimer !== undefined) return;
    const wait = Math.max(0, this.lastProgressAt + PROGRESS_FLUSH_MS - monotonicNow());
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      const reporting = [...this.held.values()].filter((h) => h.progress !== undefined && !h.lost);
      this.lastProgressAt = monotonicNow();
      void this.beat(reporting, false).catch(() => {});
    }, wait);
  }

  private stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.progressTimer);
    this.timer = undefined;
    this.progressTimer = undefined;
  }

  private checkLeases(): void {
    const now = monotonicNow();
    const due: Held[] = [];
    for (const h of this.held.values()) {
      const left = h.leaseEnd - now;
      // A lease that ran out here (heartbeats slow or failing): the job may already run elsewhere.
      if (left <= 0) h.abort?.('its lease ran out before the job finished');
      else if (left < (this.leaseMs * 2) / 3) due.push(h);
      // Running a while and not renewed since the last interval: renewed now, to hear of a cancel.
      else if (h.startedAt > 0 && now - h.startedAt >= this.leaseMs / 6 && left <= (this.leaseMs * 5) / 6) due.push(h);
    }
    if (this.beating || due.length === 0) return;
    this.beating = true;
    void this.beat(due, false).catch(() => {}).finally(() => (this.beating = false));
  }

  /**
   * Renews these jobs' leases and writes their unwritten progress. A failed heartbeat is tried again at
   * the next interval; the runs whose lease would end before then are aborted. `strict` (ctx.heartbeat)
   * rejects instead, and on a lost lease. Runs found cancelled are stopped.
   */
  async beat(jobs: Held[], strict: boolean): Promise<void> {
    if (jobs.length === 0) return;
    const sentAt = monotonicNow();
    const progress = jobs.map((h) => h.progress);
    const sent = jobHeartbeat(this.db, jobs.map((h, i) => ({ id: h.job.id, token: h.token, progress: progress[i] })), this.leaseMs, this.flow);
    let renewed: Map<string, boolean>;
    try {
      renewed = new Map((await sent).map((r) => [r.id, r.cancel]));
    } catch (error) {
      for (const h of jobs) if (h.leaseEnd - monotonicNow() <= this.leaseMs / 3) h.abort?.('its lease could not be renewed (the database did not answer)');
      if (strict) throw error;
      return;
    }
    jobs.forEach((h, i) => {
      const cancel = renewed.get(h.job.id);
      if (cancel === undefined) {
        h.lost = true;
        h.abort?.('the lease passed to another run (a rescue)');
        return;
      }
      h.leaseEnd = Math.max(h.leaseEnd, sentAt + this.leaseMs);
      if (h.progress === progress[i]) h.progress = undefined; // written (unless a newer value came meanwhile)
      if (cancel && !h.cancelled) {
        h.cancelled = true;
        h.abort?.(new JobCancelledError(h.job.id));
      }
    });
    if (strict && jobs.some((h) => h.lost)) throw new LeaseLostError();
  }
}
