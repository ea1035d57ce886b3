import type { Db } from './db.js';
import { JOB_STATUSES, type JobStatus } from './schema.js';
import { jobStats } from './queries.js';

type Counts = Record<JobStatus, number>;

export interface QueueStats extends Counts {
  /** How long the oldest due pending job has been due (now - run_after); 0 when none is due. */
  oldestPendingAgeMs: number;
  /** How long ago a drain last ended well (ms); null when none has (or none since the upgrade). */
  lastDrainAgeMs: number | null;
  byType: Record<string, Counts & { oldestPendingAgeMs: number }>;
}

const zero = (): Counts => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Counts;

/** Queue depth by status and by type, and the last good drain's age, from one statement. */
export async function queueStats(db: Db): Promise<QueueStats> {
  const { rows, last_drain_age_ms } = await jobStats(db);
  const lastDrainAgeMs = last_drain_age_ms === null ? null : Math.max(0, Math.round(last_drain_age_ms));
  const stats: QueueStats = { ...zero(), oldestPendingAgeMs: 0, lastDrainAgeMs, byType: {} };
  for (const row of rows) {
    const age = Math.max(0, Math.round(row.oldest_due_ms ?? 0));
    const forType = (stats.byType[row.type] ??= { ...zero(), oldestPendingAgeMs: 0 });
    forType[row.status] += row.count;
    forType.oldestPendingAgeMs = Math.max(forType.oldestPendingAgeMs, age);
    stats[row.status] += row.count;
    stats.oldestPendingAgeMs = Math.max(stats.oldestPendingAgeMs, age);
  }
  return stats;
}
