import { appScope, type AppScope } from '../app.js';
import type { Db } from '../db.js';
import type { JobDefinition } from '../core/jobs.js';
import type { JobStatus } from '../schema.js';
import { appStats, type StatsResult } from '../housekeeping/queries-stats.js';

/** The queue's depth: the states of jobs still to run or to look at. Completed and cancelled jobs are
 *  kept only for their results (SLUICE_RESULT_RETENTION), and counted nowhere. */
const DEPTH_STATUSES = ['pending', 'running', 'dead'] as const satisfies readonly JobStatus[];
type Counts = Record<(typeof DEPTH_STATUSES)[number], number>;

export interface QueueStats extends Counts {
  /** How long the oldest due pending job of a type that is not paused has been due (now - run_after); 0 when none is. */
  oldestPendingAgeMs: number;
  /** How long ago a drain of this app last ended well (ms); null when none has (or none since the upgrade). */
  lastDrainAgeMs: number | null;
  /** The app's types an operator paused: their jobs wait, on purpose, so they count in no alert. */
  paused: string[];
  /** Every type of the app, with its counts. */
  byType: Record<string, Counts & { oldestPendingAgeMs: number; paused: boolean }>;
  /** Every count is live. false: a count above STATS_LIVE_LIMIT is the latest minute sample's (or, with
   *  none yet, a lower bound), since counting a status exactly walks every row of it. */
  exact: boolean;
  /** When the sample those counts come from was taken (ISO 8601); null when exact or none exists yet. */
  sampledAt: string | null;
}

/**
 * Counts up to this many jobs of a type and status are live; beyond it stats read the cron tick's
 * minute sample. It bounds a stats call's cost: a count walks at most this many index entries.
 */
export const STATS_LIVE_LIMIT = 1_000;

const zero = (): Counts => Object.fromEntries(DEPTH_STATUSES.map((s) => [s, 0])) as Counts;

/** QueueStats from the statement's rows (queries-stats.ts). */
export function toQueueStats(result: StatsResult): QueueStats {
  const { types, sampled_at_ms, last_drain_age_ms } = result;
  const lastDrainAgeMs = last_drain_age_ms === null ? null : Math.max(0, Math.round(last_drain_age_ms));
  const exact = types.every((t) => !t.sampled);
  const sampledAt = exact || sampled_at_ms === null ? null : new Date(sampled_at_ms).toISOString();
  // No prototype: a type may be named __proto__ or constructor, and must not reach Object.prototype.
  const stats: QueueStats = { ...zero(), oldestPendingAgeMs: 0, lastDrainAgeMs, paused: [], byType: Object.create(null), exact, sampledAt };
  for (const row of types) {
    const age = Math.max(0, Math.round(row.oldest_due_ms));
    stats.byType[row.type] = { pending: row.pending, running: row.running, dead: row.dead, oldestPendingAgeMs: age, paused: row.paused };
    for (const status of DEPTH_STATUSES) stats[status] += row[status];
    // A paused type's jobs wait on purpose: paused, not stuck (health and the dead-man switch read this).
    if (row.paused) stats.paused.push(row.type);
    else stats.oldestPendingAgeMs = Math.max(stats.oldestPendingAgeMs, age);
  }
  return stats;
}

/**
 * Queue depth by status and type of one app (its job definitions or type names; `app` as SLUICE_APP,
 * default derived from the types), and its last good drain's age: one statement, whose cost does not
 * grow with the table (queries-stats.ts).
 */
export async function queueStats(db: Db, jobs: readonly (JobDefinition | string)[] | AppScope, options: { app?: string } = {}): Promise<QueueStats> {
  const scope = 'app' in jobs ? jobs : appScope(jobs.map((j) => (typeof j === 'string' ? j : j.type)), options.app);
  if (scope.types.length === 0) throw new TypeError('queueStats() needs the app\'s job definitions (or type names)');
  return toQueueStats(await appStats(db, scope, STATS_LIVE_LIMIT));
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
    ...(dead > t.ALERT_DEAD_MAX ? [`${dead} dead job${dead === 1 ? '' : 's'} (> ${t.ALERT_DEAD_MAX})`] : []),
    ...(drainsStopped
      ? [`no drain has ended well ${lastDrainAgeMs === null ? 'yet' : `for ${lastDrainAgeMs} ms`} while jobs are due (> ${t.ALERT_DRAIN_STALE_MS}): are the crons running?`]
      : []),
  ];
}
