import { Cron } from 'croner';
import type { z } from 'zod';
import type { Db } from '../db.js';
import { enqueueMany, type EnqueueContext } from '../core/enqueue.js';
import type { JobDefinition } from '../core/jobs.js';
import { log } from '../log.js';
import { scheduleAdvance, scheduleLastSlots, scheduleLockLastSlot } from './queries-schedules.js';

/**
 * What a tick does about slots it missed (nothing ticked, or the cron was late):
 * latest: run the latest missed slot once (default); all: every missed slot, the most recent
 * `maxCatchUp`; none: only a slot at most ON_TIME_MS late.
 */
export type CatchUp = 'latest' | 'all' | 'none';

/** A slot later than this is "missed" for catchUp 'none': two Vercel Cron minutes. */
export const ON_TIME_MS = 120_000;

export interface ScheduleDefinition<S extends z.ZodType = z.ZodType, T extends string = string> {
  name: string;
  cron: string;
  timezone: string;
  job: JobDefinition<S, T>;
  /** The slot's payload (the schedule's `payload`, or what its function returns for the slot). */
  payloadFor(slot: Date): z.input<S>;
  catchUp: CatchUp;
  maxCatchUp: number;
  priority?: number;
  maxAttempts?: number;
  /** The parsed expression: slots in `timezone`, DST included. */
  readonly pattern: Cron;
}

/**
 * Declares a recurring job: `cron` (five fields, or six with seconds; croner's syntax) in `timezone`
 * (IANA, default UTC), enqueueing `job` with `payload` (or `payload(slot)`) once per slot. A bad
 * expression, time zone or payload throws here, at startup, not at the first tick.
 */
export function defineSchedule<S extends z.ZodType, T extends string>(spec: {
  name: string;
  cron: string;
  timezone?: string;
  job: JobDefinition<S, T>;
  payload: z.input<S> | ((slot: Date) => z.input<S>);
  catchUp?: CatchUp;
  /** catchUp 'all': at most this many missed slots per tick. Default 100. */
  maxCatchUp?: number;
  priority?: number;
  maxAttempts?: number;
}): ScheduleDefinition<S, T> {
  if (!/^[\w.:-]{1,100}$/.test(spec.name)) throw new TypeError(`schedule name "${spec.name}" must be 1-100 letters, digits, '_', '-', '.' or ':'`);
  const timezone = spec.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new TypeError(`schedule "${spec.name}": "${timezone}" is not an IANA time zone (e.g. Europe/Paris)`);
  }
  let pattern: Cron;
  try {
    pattern = new Cron(spec.cron, { timezone, paused: true });
  } catch (error) {
    throw new TypeError(`schedule "${spec.name}": cron "${spec.cron}" is not valid: ${(error as Error).message}`);
  }
  const maxCatchUp = spec.maxCatchUp ?? 100;
  if (!Number.isInteger(maxCatchUp) || maxCatchUp < 1 || maxCatchUp > 10_000) throw new TypeError(`schedule "${spec.name}": maxCatchUp must be an integer from 1 to 10000`);
  const payloadFor = typeof spec.payload === 'function' ? (spec.payload as (slot: Date) => z.input<S>) : () => spec.payload as z.input<S>;
  if (typeof spec.payload !== 'function') {
    const parsed = spec.job.payload.safeParse(spec.payload);
    if (!parsed.success) throw new TypeError(`schedule "${spec.name}": payload is not a valid "${spec.job.type}" payload: ${parsed.error.message}`);
  }
  return { name: spec.name, cron: spec.cron, timezone, job: spec.job, payloadFor, catchUp: spec.catchUp ?? 'latest', maxCatchUp, priority: spec.priority, maxAttempts: spec.maxAttempts, pattern };
}

/** The slots a tick at `now` enqueues after `last` (both epoch ms; last null: never seen), and the new last. */
export function dueSlots(s: ScheduleDefinition, last: number | null, now: number): { slots: Date[]; latest: number | null } {
  const latest = s.pattern.previousRuns(1, new Date(now))[0]?.getTime() ?? null;
  // First sighting: the schedule starts with its first slot after it, not with one from the past.
  if (latest === null || last === null || latest <= last) return { slots: [], latest };
  if (s.catchUp === 'latest') return { slots: [new Date(latest)], latest };
  if (s.catchUp === 'none') return { slots: now - latest <= ON_TIME_MS ? [new Date(latest)] : [], latest };
  const missed = s.pattern.previousRuns(s.maxCatchUp, new Date(now)).filter((d) => d.getTime() > last);
  return { slots: missed.reverse(), latest };
}

/** The next slot after `now`, or null for an expression with none left. */
export const nextSlot = (s: ScheduleDefinition, now: number) => s.pattern.nextRun(new Date(now));

/**
 * Enqueues every schedule's due slots exactly once, however many ticks run at once: each schedule's
 * last slot moves forward in the same transaction as its jobs are enqueued, and only from an earlier
 * value (a second tick waits on the row, then finds the slot taken). Each job also carries the
 * idempotency key schedule:<name>:<slot>. Returns how many jobs it enqueued, and the schedules that
 * failed (logged; their slots stay for the next tick).
 */
export async function enqueueDueSlots(
  db: Db, defs: readonly ScheduleDefinition[], now: number, context: EnqueueContext,
): Promise<{ enqueued: number; failed: string[] }> {
  const failed: string[] = [];
  if (defs.length === 0) return { enqueued: 0, failed };
  const lasts = await scheduleLastSlots(db, defs.map((d) => d.name));
  let enqueued = 0;
  for (const s of defs) {
    const seen = dueSlots(s, lasts.get(s.name) ?? null, now).latest;
    if (seen === null || seen <= (lasts.get(s.name) ?? -Infinity)) continue;
    // One schedule's failure (a payload function that throws, a payload its job refuses) is logged and
    // leaves its slot for the next tick; it never stops the others or the tick's drain.
    await db.transaction(async (tx) => {
      // The slots come from the row as locked here, not as read above: a tick that advanced it
      // meanwhile has taken those slots (catchUp 'all' would otherwise enqueue one twice).
      const last = await scheduleLockLastSlot(tx, s.name);
      const { slots, latest } = dueSlots(s, last, now);
      if (latest === null || !(await scheduleAdvance(tx, s.name, latest)) || slots.length === 0) return;
      const items = slots.map((slot) => ({
        job: s.job, payload: s.payloadFor(slot), idempotencyKey: `schedule:${s.name}:${slot.toISOString()}`,
        ...(s.priority !== undefined ? { priority: s.priority } : {}), ...(s.maxAttempts !== undefined ? { maxAttempts: s.maxAttempts } : {}),
      }));
      enqueued += (await enqueueMany(tx, items, context)).duplicate.filter((d) => !d).length;
    }).catch((error) => {
      failed.push(s.name);
      log.error('a schedule could not enqueue its slot (the next tick tries again)', { schedule: s.name, error });
    });
  }
  return { enqueued, failed };
}
