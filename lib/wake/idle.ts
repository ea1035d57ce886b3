import type { DrainSummary, LivePass } from '../queue/index.js';
import type { DueHint, HintStore } from './hint.js';

/**
 * Decides whether a tick touches the database. Enqueues write when their jobs fall due; drains write
 * what they saw (the next pending job, their retries); a tick queries only when something is due, the
 * hint is missing, or the last full check is SLUICE_IDLE_CHECK_MS old. So an idle hour costs
 * 60 / (check period in minutes) queries, and a job whose hint was lost runs at most one tick plus
 * the check period late.
 */
export class IdleGate {
  constructor(
    private readonly store: HintStore,
    /** SLUICE_IDLE_CHECK_MS; 0: every tick queries. */
    private readonly checkEveryMs: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A tick asks: query the database now? */
  async shouldQuery(): Promise<boolean> {
    if (this.checkEveryMs() === 0) return true;
    const hint = await this.store.get();
    const now = this.now();
    if (!hint || now - hint.checkedAt >= this.checkEveryMs()) return true;
    if (hint.leaseUntil != null && hint.leaseUntil <= now) return true; // a drain died: rescue its jobs
    return hint.dueAt !== null && hint.dueAt <= now;
  }

  /** A drain starts: were it to die, its jobs' leases would all have run out by `until`. */
  async noteLeases(until: number): Promise<void> {
    const hint = await this.store.get();
    if (hint?.leaseUntil != null && hint.leaseUntil >= until) return;
    await this.store.set({ dueAt: hint?.dueAt ?? null, checkedAt: hint?.checkedAt ?? 0, notedAt: hint?.notedAt ?? 0, leaseUntil: until });
  }

  /** An enqueue: jobs fall due at `at` (epoch ms). Writes only when that is news. */
  async noteDue(at: number): Promise<void> {
    const hint = await this.store.get();
    const now = this.now();
    // An earlier time still ahead already brings a tick; a past one is written again with notedAt, so
    // a drain that looked before this enqueue keeps it (afterDrain).
    if (hint && hint.dueAt !== null && hint.dueAt <= at && hint.dueAt > now) return;
    const dueAt = hint?.dueAt != null ? Math.min(hint.dueAt, at) : at;
    await this.store.set({ dueAt, checkedAt: hint?.checkedAt ?? 0, notedAt: now, leaseUntil: hint?.leaseUntil ?? null });
  }

  /**
   * A drain that queried ends: the hint becomes what it saw. Due now when it stopped with work left
   * or rescued jobs; else the earliest of its empty claim's next pending job, its retries and any
   * time an enqueue wrote since the pass looked (or that is still ahead).
   */
  async afterDrain(startedAt: number, summary: DrainSummary, pass: LivePass | undefined): Promise<void> {
    const hint = await this.store.get();
    const now = this.now();
    const candidates: number[] = [];
    if (summary.stoppedBy !== 'empty' || summary.rescued > 0) candidates.push(now);
    const seen = pass?.nextDueAt();
    if (seen != null) candidates.push(seen);
    if (hint?.dueAt != null && (hint.notedAt >= startedAt || hint.dueAt > now)) candidates.push(hint.dueAt);
    // Its leases are settled (another drain's guard, if one runs, is lost with them: the periodic check covers it).
    const next: DueHint = { dueAt: candidates.length ? Math.min(...candidates) : null, checkedAt: now, notedAt: hint?.notedAt ?? 0, leaseUntil: null };
    await this.store.set(next);
  }
}
