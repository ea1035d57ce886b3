import type { Db } from './db.js';
import { JOB_STATUSES, type JobStatus } from './schema.js';
import { jobStats } from './queries.js';

type Counts = Record<JobStatus, number>;

export interface QueueStats extends Counts {
  /** How long the oldest due pending job of a type that is not paused has been due (now - run_after); 0 when none is. */
  oldestPendingAgeMs: number;
  /** How long ago a drain last ended well (ms); null when none has (or none since the upgrade). */
  lastDrainAgeMs: number | null;
  /** Types an operator paused: their jobs wait, on purpose, so they count in no alert. */
  paused: string[];
  byType: Record<string, Counts & { oldestPendingAgeMs: number; paused: boolean }>;
}

const zero = (): Counts => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Counts;

/** Queue depth by status and by type, and the last good drain's age, from one statement. */
export async function queueStats(db: Db): Promise<QueueStats> {
  const { rows, last_drain_age_ms, paused } = await jobStats(db);
  const lastDrainAgeMs = last_drain_age_ms === null ? null : Math.max(0, Math.round(last_drain_age_ms));
  // No prototype: a type may be named __proto__ or constructor, and must not reach Object.prototype.
  const stats: QueueStats = { ...zero(), oldestPendingAgeMs: 0, lastDrainAgeMs, paused, byType: Object.create(null) };
  for (const type of paused) stats.byType[type] = { ...zero(), oldestPendingAgeMs: 0, paused: true };
  for (const row of rows) {
    const age = Math.max(0, Math.round(row.oldest_due_ms ?? 0));
    const forType = (stats.byType[row.type] ??= { ...zero(), oldestPendingAgeMs: 0, paused: false });
    forType[row.status] += row.count;
    forType.oldestPendingAgeMs = Math.max(forType.oldestPendingAgeMs, age);
    stats[row.status] += row.count;
    // A paused type's jobs wait on purpose: paused, not stuck (health and the dead-man switch read this).
    if (!forType.paused) stats.oldestPendingAgeMs = Math.max(stats.oldestPendingAgeMs, age);
  }
  return stats;
}

export interface HealthThresholds {
  ALERT_OLDEST_PENDING_MS: number;
  ALERT_DEAD_MAX: number;
  ALERT_DRAIN_STALE_MS: number;
}

/**
 * What is wrong with the queue, in words (empty: healthy): jobs wait too long, too many are dead, or
 * drains have stopped (the dead-man switch: work has been due a while and no drain has ended well for
 * as long). GET /api/health and the dashboard say the same.
 */
export function healthProblems(stats: QueueStats, t: HealthThresholds): string[] {
  const { dead, oldestPendingAgeMs, lastDrainAgeMs } = stats;
  const drainsStopped = oldestPendingAgeMs > t.ALERT_DRAIN_STALE_MS && (lastDrainAgeMs === null || lastDrainAgeMs > t.ALERT_DRAIN_STALE_MS);
  return [
    ...(oldestPendingAgeMs > t.ALERT_OLDEST_PENDING_MS ? [`oldest pending job has waited ${oldestPendingAgeMs} ms (> ${t.ALERT_OLDEST_PENDING_MS})`] : []),
    ...(dead > t.ALERT_DEAD_MAX ? [`${dead} dead jobs (> ${t.ALERT_DEAD_MAX})`] : []),
    ...(drainsStopped
      ? [`no drain has ended well ${lastDrainAgeMs === null ? 'yet' : `for ${lastDrainAgeMs} ms`} while jobs are due (> ${t.ALERT_DRAIN_STALE_MS}): are the crons running?`]
      : []),
  ];
}
