import type { Db } from './db.js';
import { type ClaimedJob, jobHeartbeat } from './queries-drain.js';
import type { RunControl } from './run-job.js';
import { LeaseLostError } from './steps.js';

/** A job a pass holds: claimed, running or waiting to start, and its lease by the local clock. */
export interface Held {
  job: ClaimedJob;
  token: string;
  lease: { end: number };
  /** A heartbeat found the job's lease taken by another run: this pass must not start or settle it. */
  lost: boolean;
  control: RunControl;
}

/**
 * The heartbeats of one pass (issue 11). A claimed job's lease lasts `leaseMs`; every third of that,
 * the keeper renews (one statement for all of them) the leases of the jobs held longer than that, so a
 * job runs as long as its timeout allows while its drain lives, and a dead drain's jobs are rescued at
 * most `leaseMs` after it died. Fast jobs settle before their first renewal: a busy pass of short jobs
 * sends no heartbeat at all. A job found lost is aborted, or never started.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly flow: boolean,
    private readonly onStop: Set<() => void>,
  ) {}

  /** Starts holding a job whose lease ends at `leaseEnd`. */
  hold(job: ClaimedJob, token: string, leaseEnd: number): Held {
    const held: Held = { job, token, lease: { end: leaseEnd }, lost: false, control: { onStop: this.onStop, heartbeat: () => this.beat([held], true) } };
    this.held.set(job.id, held);
    this.timer ??= setInterval(() => void this.beat([...this.held.values()].filter((h) => h.lease.end - Date.now() < (this.leaseMs * 2) / 3), false), this.leaseMs / 3);
    return held;
  }

  /** The pass settled the job (or gave it back): no more heartbeats for it. */
  drop(id: string): void {
    this.held.delete(id);
    if (this.held.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for a heartbeat on the wire, so none outlives the pass. */
  settled(): Promise<unknown> {
    return this.inFlight;
  }

  /**
   * Renews these jobs' leases. A failed heartbeat is tried again at the next interval (two more before a
   * lease ends); `strict` (ctx.heartbeat) rejects instead, and on a lost lease.
   */
  private async beat(jobs: Held[], strict: boolean): Promise<void> {
    if (jobs.length === 0) return;
    const sentAt = Date.now();
    const sent = jobHeartbeat(this.db, jobs.map((h) => ({ id: h.job.id, token: h.token })), this.leaseMs, this.flow);
    this.inFlight = sent.catch(() => {});
    let renewed: Set<string>;
    try {
      renewed = new Set(await sent);
    } catch (error) {
      if (strict) throw error;
      return;
    }
    for (const h of jobs) {
      if (renewed.has(h.job.id)) {
        h.lease.end = Math.max(h.lease.end, sentAt + this.leaseMs);
      } else {
        h.lost = true;
        h.control.abort?.('the lease passed to another run (a rescue)');
      }
    }
    if (strict && jobs.some((h) => h.lost)) throw new LeaseLostError();
  }
}
