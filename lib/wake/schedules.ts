import { dueSlots, enqueueDueSlots, nextSlot, type Db, type EnqueueContext, type JobRegistry, type ScheduleDefinition } from '../queue/index.js';

/** A schedule as the admin API shows it. */
export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  catchUp: ScheduleDefinition['catchUp'];
  /** The next slot after now (ISO 8601); null for an expression with none left. */
  nextSlot: string | null;
  /** The last slot a tick took (enqueued, or skipped by the catch-up policy); null before the first tick. */
  lastSlot: string | null;
}

/** An instance's schedules, checked: unique names, and jobs the instance defines. */
export function checkSchedules(defs: readonly ScheduleDefinition[], jobs: JobRegistry): readonly ScheduleDefinition[] {
  const names = new Set<string>();
  for (const s of defs) {
    if (names.has(s.name)) throw new TypeError(`schedule "${s.name}" is defined twice`);
    names.add(s.name);
    if (jobs.get(s.job.type) !== s.job) throw new TypeError(`schedule "${s.name}": its job "${s.job.type}" is not among createSluice's jobs`);
  }
  return defs;
}

/**
 * What a tick needs of the schedules: whether a slot has come since this instance last enqueued (a
 * look at the clock, no query: an idle tick stays free), and enqueueing the due ones.
 */
export function scheduleRunner(defs: readonly ScheduleDefinition[], db: () => Db, context: () => EnqueueContext) {
  const seen = new Map<string, number>(); // latest slot handled, by this instance or another tick
  return {
    due: (now: number) => defs.some((s) => {
      const { latest } = dueSlots(s, seen.get(s.name) ?? null, now);
      return latest !== null && !(latest <= (seen.get(s.name) ?? -Infinity));
    }),
    enqueue: async (now: number) => {
      const { enqueued, failed } = await enqueueDueSlots(db(), defs, now, context());
      for (const s of defs) {
        const { latest } = dueSlots(s, null, now);
        if (latest !== null && !failed.includes(s.name)) seen.set(s.name, latest);
      }
      return enqueued;
    },
  };
}

export function scheduleView(s: ScheduleDefinition, lastSlot: number | null, now: number): ScheduleView {
  return {
    name: s.name, cron: s.cron, timezone: s.timezone, type: s.job.type, catchUp: s.catchUp,
    nextSlot: nextSlot(s, now)?.toISOString() ?? null, lastSlot: lastSlot === null ? null : new Date(lastSlot).toISOString(),
  };
}
