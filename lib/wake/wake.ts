import { type AppScope, type Config, type Db, type DrainOptions, type DrainSummary, type HousekeepingReport, type LivePass } from '../queue/index.js';
import { drainSlotFree, drainSlotRenew, drainSlotsTake, jobDueCount } from '../queue/core/queries-coordination.js';
import { log } from '../queue/log.js';
import type { IdleGate } from './idle.js';
import { announce, housekeepingParams } from './alerts.js';
import type { DrainReason, WakeRuntime } from './runtime.js';

/** What a wake needs of its instance. */
export interface WakeHost {
  db(): Db;
  settings(): Config;
  drain(options: DrainOptions): Promise<DrainSummary>;
  gate: IdleGate;
  /** The instance's app and job types (the backlog it would drain; lib/queue/app.ts). */
  scope(): AppScope;
  /** How long a drain's leases outlive its deadline were it to die (heartbeats renew them until then). */
  longestLeaseMs: number;
  /** The instance's schedules: whether a slot has come since this instance last looked, and enqueueing them. */
  schedules: { due(now: number): boolean; enqueue(now: number): Promise<number> };
  /** Housekeeping a cron tick does after a drain that ran jobs: flow limits' spent slots, orphaned steps. */
  prune?: () => Promise<unknown>;
  /** Deletes completed runs past retention, stopping before `deadline` (ms since epoch). */
  pruneRuns?: (deadline: number) => Promise<unknown>;
}

/** One wake's start: why it runs (a cron tick, a kick, a fan-out, a continuation), until when, on what platform. */
export interface WakeOptions {
  /** When the drain must be done (epoch ms), the safety margin already taken off. */
  deadline: number;
  reason: DrainReason;
  /** Place in a chain of drains (0: a tick or kick). */
  hop?: number;
  /** The drain slot this invocation holds, if one was taken for it. */
  slot?: number | null;
  runtime: WakeRuntime;
}

/** What one wake did: its drain pass's summary, and what it started or sent. */
export interface WakeSummary extends Omit<DrainSummary, 'stoppedBy'> {
  /** idle: the hint said nothing is due, so the database was not touched. */
  stoppedBy: DrainSummary['stoppedBy'] | 'idle';
  /** Drains this one started in parallel (fan-out). */
  fannedOut: number;
  /** Whether it handed its remaining work to a fresh invocation. */
  continued: boolean;
  /** Jobs it enqueued for schedules' due slots (ticks only). */
  scheduled: number;
  /** Alert messages it delivered (ticks only; see lib/wake/alerts.ts). */
  alerted: number;
}

/** Backlogs are counted up to this: beyond it every fan-out slot is worth filling anyway. */
const BACKLOG_COUNT_CAP = 100_000;

/**
 * One wake: a drain invocation, started by a cron tick, a kick, or another drain (a fan-out or a
 * continuation). The word "tick" means the cron's call alone (reason 'tick'). A tick first asks the
 * idle hint and may skip the database. A tick or kick that finds more due work than it can drain
 * before its deadline (judged once, early, from its own rate) starts drains in parallel, up to
 * SLUICE_MAX_FANOUT in all; a drain stopped by its deadline with work left hands over to a fresh
 * invocation, at most SLUICE_MAX_CONTINUATIONS times in a row and only while it makes progress.
 * Fanned-out and continuing drains hold slots (app_drain_slots), so overlapping wakes never multiply them.
 */
export async function wake(host: WakeHost, o: WakeOptions): Promise<WakeSummary> {
  const s = host.settings();
  const start = Date.now();
  const hop = o.hop ?? 0;
  // Schedules first: a tick whose slot has come enqueues it, then drains it with the rest.
  const scheduled = o.reason === 'tick' && host.schedules.due(start) ? await host.schedules.enqueue(start).catch(logged('schedules', 0)) : undefined;
  if (o.reason === 'tick' && scheduled === undefined && !(await host.gate.shouldQuery())) {
    return { claimed: 0, completed: 0, retried: 0, dead: 0, rescued: 0, cancelled: 0, released: 0, handedBack: 0, waiting: 0, durationMs: Date.now() - start, stoppedBy: 'idle', fannedOut: 0, continued: false, scheduled: 0, alerted: 0 };
  }
  let pass: LivePass | undefined;
  let fannedOut: Promise<number> = Promise.resolve(0);
  let checkpoint: NodeJS.Timeout | undefined;
  const mayFanOut = (o.reason === 'tick' || o.reason === 'kick') && s.SLUICE_MAX_FANOUT > 1 && o.runtime.startDrain !== undefined;
  const observe = (live: LivePass) => {
    pass = live;
    if (!mayFanOut) return;
    // Early enough to matter, late enough to have a rate: 5% of the budget, between 0.5 and 3 s.
    const at = Math.min(3_000, Math.max(500, (o.deadline - start) / 20));
    checkpoint = setTimeout(() => (fannedOut = fanOut(host, o, live, start).catch(logged('fan-out', 0))), at);
  };
  // Were this drain to die, the idle hint must still bring a tick to rescue its jobs once their leases end.
  await host.gate.noteLeases(o.deadline + host.longestLeaseMs).catch(logged('idle hint', undefined));
  // A tick's first claim also does the minute's housekeeping: depth sample, retention, alert state.
  // Its alerts go out while the drain runs.
  let alerted: Promise<number> = Promise.resolve(0);
  let runsPast = false;
  const housekeeping = o.reason === 'tick'
    ? { params: housekeepingParams(s, host.scope()), onReport: (r: HousekeepingReport) => {
        runsPast = r.runsPastRetention;
        alerted = announce(host.db(), host.scope().app, s, r.alerts).catch(logged('alerts', 0));
      } }
    : undefined;
  let summary: DrainSummary;
  try {
    summary = await host.drain({ deadline: o.deadline, observe, housekeeping });
  } finally {
    clearTimeout(checkpoint);
  }
  await host.gate.afterDrain(start, summary, pass).catch(logged('idle hint', undefined));
  // Jobs went dead: the next tick queries (and checks the alerts) even if nothing else is due.
  if (summary.dead > 0 && s.ALERT_WEBHOOK_URL !== undefined) await host.gate.noteDue(Date.now()).catch(logged('idle hint', undefined));
  // Only after work: what is pruned is left by jobs that ran, and an empty tick stays one statement.
  if (o.reason === 'tick' && host.prune && summary.claimed > 0) await host.prune().catch(logged('pruning', undefined));
  // Completed runs age whether or not jobs run: pruned when the minute's housekeeping found one past
  // retention (a kicked app's ticks may claim nothing for days; an idle tick with nothing to prune stays
  // one statement), and after any tick that ran jobs (a busy app makes more than a minute's batches).
  if (o.reason === 'tick' && host.pruneRuns && (runsPast || summary.claimed > 0)) await host.pruneRuns(o.deadline).catch(logged('pruning', undefined));
  const continued = await continueIfDue(host, o, hop, summary).catch(logged('continuation', false));
  return { ...summary, fannedOut: await fannedOut, continued, scheduled: scheduled ?? 0, alerted: await alerted };
}

/** How many more drains the backlog needs beside this one, started, each holding a slot. */
async function fanOut(host: WakeHost, o: WakeOptions, live: LivePass, start: number): Promise<number> {
  const s = host.settings();
  const { app, types } = host.scope();
  const backlog = await jobDueCount(host.db(), types, BACKLOG_COUNT_CAP);
  if (backlog === 0) return 0;
  const now = Date.now();
  const done = live.summary.completed + live.summary.retried + live.summary.dead;
  const perMs = done / Math.max(1, now - start);
  // Jobs this pass can still finish; none finished yet means slow jobs: every slot is worth it.
  const canFinish = perMs * Math.max(0, o.deadline - now);
  const needed = perMs > 0 ? Math.ceil(backlog / Math.max(1, canFinish)) - 1 : backlog > live.runningNow() ? Infinity : 0;
  const want = Math.min(s.SLUICE_MAX_FANOUT - 1, needed);
  if (want <= 0) return 0;
  const slots = await drainSlotsTake(host.db(), app, want, s.SLUICE_MAX_FANOUT - 1, slotHoldMs(s));
  const started = await Promise.all(slots.map((slot) => startOrFree(host, o, { reason: 'fanout', hop: 1, slot })));
  return started.filter(Boolean).length;
}

/**
 * Hands over to a fresh invocation when the deadline stopped this drain with work left and it made
 * progress: finished jobs, or runs handed back for time (their next step needs a fresh invocation).
 */
async function continueIfDue(host: WakeHost, o: WakeOptions, hop: number, summary: DrainSummary): Promise<boolean> {
  const s = host.settings();
  const progressed = summary.completed + summary.retried + summary.dead + summary.handedBack > 0;
  const due = summary.stoppedBy === 'deadline' && progressed && hop < s.SLUICE_MAX_CONTINUATIONS && o.runtime.startDrain !== undefined;
  const slot = o.slot ?? null;
  const { app } = host.scope();
  if (!due) {
    if (slot !== null) await drainSlotFree(host.db(), app, slot);
    return false;
  }
  // A continuation holds a slot: its own carried on, else a free one (none free: others are draining).
  let held = slot;
  if (held !== null) await drainSlotRenew(host.db(), app, held, slotHoldMs(s));
  else held = (await drainSlotsTake(host.db(), app, 1, Math.max(1, s.SLUICE_MAX_FANOUT - 1), slotHoldMs(s)))[0] ?? null;
  if (held === null) return false;
  return startOrFree(host, o, { reason: 'continue', hop: hop + 1, slot: held });
}

/** Starts a drain elsewhere; if the platform refuses, frees its slot (the next tick drains instead). */
async function startOrFree(host: WakeHost, o: WakeOptions, start: { reason: 'fanout' | 'continue'; hop: number; slot: number }): Promise<boolean> {
  try {
    await o.runtime.startDrain!(start);
    return true;
  } catch (error) {
    log.warn(`could not start a ${start.reason} drain (the next tick drains instead)`, { error });
    await drainSlotFree(host.db(), host.scope().app, start.slot).catch(() => {});
    return false;
  }
}

/** A slot outlives its drain's longest run and the time to start it; a crashed holder frees it then. */
const slotHoldMs = (s: Config) => s.DRAIN_MAX_DURATION_MS + 30_000;

const logged = <T>(what: string, fallback: T) => (error: unknown): T => {
  log.warn(`${what} failed`, { error });
  return fallback;
};
