// The chaos suite's workflow load (npm run chaos): parents, a quarter of them cancelled, and jobs waiting
// for events that this process sends. An event goes either at once (before its job runs: the wait finds
// it) or once its job is seen waiting (it wakes the job); a cancel either at a random moment (often
// before the parent ran) or once the parent has a child (mid-run). It retries what the faults cut off,
// and records what each cancel did for flow-check.ts.
import { sql } from 'drizzle-orm';
import { cancelJob, type Db, type JobDefinition, JobStateError, sendEvent } from '../lib/queue/index.js';
import { random } from './handlers.js';
import { CHAOS_EVENT, parentJob, waiterJob } from './workflows.js';

/** What a parent's cancel did: cancelled it, found it ended already, or never got an answer. */
export type CancelOutcome = 'cancelled' | 'ended' | 'unanswered';

/** An item of the feed's enqueueMany. */
export interface FeedItem {
  job: JobDefinition;
  payload: Record<string, unknown>;
}

/** A wait for an event that is never sent times out after 1-4 s; one whose events are sent would wait this long. */
const LONG_WAIT_MS = 600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A waiter whose events go as it is seen waiting: `left` to send, the last one `extra` (more than it waits for). */
interface Watched {
  key: string;
  sent: number;
  left: number;
  extra: boolean;
  sending: boolean;
}

export class FlowLoad {
  /** Parents whose cancel was sent, and what it did. */
  readonly cancels = new Map<string, CancelOutcome>();
  /** Events given up after the faults cut their sends off for a minute. */
  unsent = 0;
  private readonly followUps = new Set<Promise<void>>();
  private keys = 0;
  private readonly waiters = new Map<string, Watched>();
  private readonly toCancel = new Set<string>();
  private flushing = false;
  private readonly watching: Promise<void>;

  constructor(private readonly db: Db) {
    this.watching = this.watch();
  }

  /** A parent or a waiter (half each) numbered `n`, for the feed. */
  item(n: number): FeedItem {
    if (Math.random() < 0.5) {
      const children = 2 + Math.floor(Math.random() * 2);
      const fails = Math.random() < 0.15 ? 1 + Math.floor(Math.random() * children) : 0;
      return { job: parentJob, payload: { n, children, fanOut: Math.random() < 0.5, fails } };
    }
    const waits = Math.random() < 0.3 ? 2 : 1;
    // A fifth wait in vain; of the rest, a quarter get one event more than they wait for (an event sent twice).
    const events = Math.random() < 0.2 ? 0 : waits + (Math.random() < 0.25 ? 1 : 0);
    return { job: waiterJob, payload: { n, key: `k${this.keys++}`, waits, events, timeoutMs: events === 0 ? random(1_000, 4_000) : LONG_WAIT_MS } };
  }

  /**
   * After a batch's enqueue: its waiters' events (at once when the enqueue did not answer: it may have
   * committed all the same) and its parents' cancels, at once or once their moment comes (watch()).
   */
  follow(items: FeedItem[], ids: string[] | undefined): void {
    items.forEach((item, i) => {
      const id = ids?.[i];
      if (item.job === waiterJob) {
        const { key, waits, events } = item.payload as { key: string; waits: number; events: number };
        if (events === 0) return;
        if (id === undefined || Math.random() < 1 / 3) this.track(this.send(key, 1, events, 1_500));
        else this.waiters.set(id, { key, sent: 0, left: events, extra: events > waits, sending: false });
      }
      if (item.job === parentJob && id !== undefined && Math.random() < 0.25) {
        if (Math.random() < 1 / 3) this.track(sleep(random(0, 3_000)).then(() => this.cancel(id)));
        else this.toCancel.add(id);
      }
    });
  }

  /** Sends what is left at once, and resolves once every event is sent and every cancel answered (or given up). */
  async settled(): Promise<void> {
    this.flushing = true;
    await this.watching;
    while (this.followUps.size > 0) await Promise.all(this.followUps);
  }

  /**
   * Every 250 ms: each watched waiter seen waiting gets its next event (and the extra one right after
   * its last), each parent seen with a child (or ended) its cancel, 0-0.5 s later. Once settled() is
   * called, everything left goes at once.
   */
  private async watch(): Promise<void> {
    while (!this.flushing || this.waiters.size > 0 || this.toCancel.size > 0) {
      await sleep(250);
      const ids = [...this.waiters.keys(), ...this.toCancel];
      if (ids.length === 0) continue;
      let rows: { id: string; status: string; children: boolean }[];
      try {
        rows = this.flushing ? ids.map((id) => ({ id, status: 'flushed', children: true }))
          : ((await this.db.execute(sql`select j.id, j.status, exists (select 1 from sluice.jobs c where c.parent_id = j.id) as children
            from sluice.jobs j where j.id = any(${`{${ids.join(',')}}`}::uuid[])`)) as unknown as { rows: typeof rows }).rows;
      } catch {
        continue; // restarting or locked: look again
      }
      for (const { id, status, children } of rows) {
        // Anything but these is an end: its events and cancel go at once (flushed, too).
        const ended = status !== 'pending' && status !== 'running' && status !== 'waiting';
        const w = this.waiters.get(id);
        if (w && !w.sending && (ended || status === 'waiting')) {
          const count = ended ? w.left : w.left === 2 && w.extra ? 2 : 1;
          w.sending = true;
          this.track(this.send(w.key, w.sent + 1, count, 0).finally(() => {
            w.sent += count;
            w.left -= count;
            w.sending = false;
            if (w.left === 0) this.waiters.delete(id);
          }));
        }
        if (this.toCancel.has(id) && (ended || children)) {
          this.toCancel.delete(id);
          this.track(sleep(ended ? 0 : random(0, 500)).then(() => this.cancel(id)));
        }
      }
    }
  }

  private track(work: Promise<void>): void {
    this.followUps.add(work);
    void work.finally(() => this.followUps.delete(work));
  }

  /** Events number `first` on of `key`, `count` of them one after another, 0 to `spacingMs` apart; a third in a transaction of the caller's. */
  private async send(key: string, first: number, count: number, spacingMs: number): Promise<void> {
    for (let s = first; s < first + count; s++) {
      if (spacingMs > 0) await sleep(random(0, spacingMs));
      const ok = await this.again(async (attempt) => {
        // Each attempt's data differs: a send whose answer was lost may have committed, and the checks read the events table.
        const body = { key, data: { key, s, attempt } };
        if (Math.random() < 1 / 3) await this.db.transaction((tx) => sendEvent(tx, CHAOS_EVENT, body));
        else await sendEvent(this.db, CHAOS_EVENT, body);
        return true;
      });
      if (!ok) this.unsent++;
    }
  }

  /** Cancels a parent: mid-run, waiting on a child, or too late. */
  private async cancel(id: string): Promise<void> {
    const outcome = await this.again(async () => {
      try {
        await cancelJob(this.db, id);
        return 'cancelled' as const;
      } catch (error) {
        // Cancelled already: an earlier attempt whose answer was lost. Any other state is in flux: again.
        if (error instanceof JobStateError && error.status === 'cancelled') return 'cancelled' as const;
        if (error instanceof JobStateError && (error.status === 'completed' || error.status === 'dead')) return 'ended' as const;
        throw error;
      }
    });
    this.cancels.set(id, outcome ?? 'unanswered');
  }

  /** `work` until it answers (the database restarting, locked or dropping connections meanwhile), 200 ms apart, for at most a minute. */
  private async again<T>(work: (attempt: number) => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; attempt <= 300; attempt++) {
      try {
        return await work(attempt);
      } catch {
        await sleep(200);
      }
    }
    return undefined;
  }
}
