import type { Db } from '../db.js';
import { type ClaimedJob, jobHeartbeat } from './queries-drain.js';
import type { RunControl } from './run-job.js';
import { LeaseLostError } from './steps.js';
import { monotonicNow } from '../clock.js';

/**
 * A job a pass holds: claimed, running or waiting to start, with its lease by the local clock. A class,
 * not a literal with closures: a busy pass makes tens of thousands a second.
 */
export class Held implements RunControl {
  /** A heartbeat found the job's lease taken by another run: this pass must not start or settle it. */
  lost = false;
  abort?: (why: string) => void;

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
}

/**
 * The heartbeats of one pass (issue 11). A claimed job's lease lasts `leaseMs`; every third of that,
 * the keeper renews (one statement for all of them) the leases of the jobs held longer than that, so a
 * job runs as long as its timeout allows while its drain lives, and a dead drain's jobs are rescued at
 * most `leaseMs` after it died. Fast jobs settle before their first renewal: a busy pass of short jobs
 * sends no heartbeat at all. A job found lost is aborted, or never started; so is a running job whose
 * lease would end before the next heartbeat because this one failed (a little early rather than late:
 * past its lease another drain may start it).
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
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
    if (!this.closed) this.timer ??= setInterval(() => this.tick(), this.leaseMs / 3);
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

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = monotonicNow();
    const due: Held[] = [];
    for (const h of this.held.values()) {
      // A lease that ran out here (heartbeats slow or failing): the job may already run elsewhere.
      if (h.leaseEnd <= now) h.abort?.('its lease ran out before the job finished');
      else if (h.leaseEnd - now < (this.leaseMs * 2) / 3) due.push(h);
    }
    if (this.beating || due.length === 0) return;
    this.beating = true;
    void this.beat(due, false).catch(() => {}).finally(() => (this.beating = false));
  }

  /**
   * Renews these jobs' leases. A failed heartbeat is tried again at the next interval; the runs whose
   * lease would end before then are aborted. `strict` (ctx.heartbeat) rejects instead, and on a lost lease.
   */
  async beat(jobs: Held[], strict: boolean): Promise<void> {
    if (jobs.length === 0) return;
    const sentAt = monotonicNow();
    const sent = jobHeartbeat(this.db, jobs.map((h) => ({ id: h.job.id, token: h.token })), this.leaseMs, this.flow);
    let renewed: Set<string>;
    try {
      renewed = new Set(await sent);
    } catch (error) {
      for (const h of jobs) if (h.leaseEnd - monotonicNow() <= this.leaseMs / 3) h.abort?.('its lease could not be renewed (the database did not answer)');
      if (strict) throw error;
      return;
    }
    for (const h of jobs) {
      if (renewed.has(h.job.id)) {
        h.leaseEnd = Math.max(h.leaseEnd, sentAt + this.leaseMs);
      } else {
        h.lost = true;
        h.abort?.('the lease passed to another run (a rescue)');
      }
    }
    if (strict && jobs.some((h) => h.lost)) throw new LeaseLostError();
  }
}
