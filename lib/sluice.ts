import { attachDatabasePool } from '@vercel/functions';
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { createHttpApp, type HttpRoutes, type Method, type SluiceEnv } from './http/app.js';
import type { AdminCalls } from './http/host.js';
import { sluiceRoutes } from './http/routes.js';
import { dashboardRoutes } from './dashboard/routes.js';
import {
  appScope, cancelDeadJobs, cancelJob, config, connect, pickDriver, listDeadJobs, queueHistory, retryDeadJobs, DRAIN_DEFAULTS, parseSettings, drain, enqueueMany, getJob, jobRegistry, listJobs, migrate, MisconfiguredError,
  jobResult, pauseType, queueStats, completedPrune, exportJobs, replayJob, replayJobs, resumeType, retryJob, sendEvent, typeViews, UnknownJobTypeError, type SendEventResult,
  type AppScope, type Config, type Connection, type Db, type DrainOptions, type DrainSummary, type Driver, type EnqueueItem,
  type EnqueueManyResult, type EnqueueOptions, type EnqueueResult, type JobDefinition, type JobResult, type JobResultStatus, type JobNamed, type JobPayload, type JobRegistry, type JobTypeName, type QueueStats, type ScheduleDefinition,
} from './queue/index.js';
import { defaultHintStore, type HintStore } from './wake/hint.js';
import { IdleGate } from './wake/idle.js';
import { invocationDeadline, Kicker } from './wake/kick.js';
import { resolveRuntime, type WakeRuntime } from './wake/runtime.js';
import { wake, type WakeOptions, type WakeSummary } from './wake/wake.js';
import { checkSchedules, scheduleRunner, scheduleView } from './wake/schedules.js';
import { scheduleLastSlots } from './queue/schedules/queries-schedules.js';
import { flowLimitsOf, flowSlotsPrune } from './queue/core/queries-flow.js';
import { stepsPruneOrphans } from './queue/core/queries-steps.js';
import { stepTimingsPrune } from './queue/core/queries-step-timings.js';

export interface SluiceOptions<J extends readonly JobDefinition[] = readonly JobDefinition[]> {
  /** The app's job definitions: the types its HTTP API enqueues and its drains run, and its calls' types. */
  jobs: J;
  /** An existing drizzle database to use (the app's own pool). Default: a pool of Sluice's own on `url`. */
  db?: Db;
  /** Connection string of Sluice's own pool. Default: DATABASE_URL. */
  url?: string;
  /** Default: neon for *.neon.tech hosts, pg otherwise (DATABASE_DRIVER overrides). */
  driver?: Driver;
  /** Size of Sluice's own pool. Default 20 (connect()). */
  poolMax?: number;
  /** Overrides of the environment's settings (lib/queue/config.ts), e.g. { ADMIN_SECRET }. */
  settings?: Partial<Config>;
  /** The app's own routes, served by the same HTTP app (same 404/405/error handling). */
  routes?: RouteTable;
  /** Where the idle hint lives (lib/wake/hint.ts). Default: Vercel's Runtime Cache on Vercel, else this instance's memory. */
  hints?: HintStore;
  /** Recurring jobs (defineSchedule): every cron tick enqueues their due slots, each exactly once. */
  schedules?: readonly ScheduleDefinition<z.ZodType, JobTypeName<J>>[];
}

/** One of the app's own routes: the request's context and the instance that serves it. */
export type RouteHandler = (c: Context<SluiceEnv>, sluice: Sluice) => Response | Promise<Response>;
/** The app's own routes: paths (Hono syntax, e.g. /api/jobs/:id) to one handler per method. */
export type RouteTable = Record<string, Partial<Record<Method, RouteHandler>>>;

/** Where an enqueue writes: `tx` makes the job part of the caller's transaction. */
type InTx = { tx?: Db };

/** What `enqueue` takes for a job: one of the instance's definitions or type names. */
type JobRef<J extends readonly JobDefinition[]> = J[number] | JobTypeName<J>;

/** The payload for a job named by a definition or a type name: its schema's input. */
type PayloadFor<J extends readonly JobDefinition[], R> = R extends string ? JobPayload<JobNamed<J, R>> : R extends JobDefinition ? JobPayload<R> : never;

/** One item of `enqueueMany`: a job of the instance's (by definition or type name) and its payload. */
export type SluiceEnqueueItem<J extends readonly JobDefinition[] = readonly JobDefinition[]> = {
  [N in JobTypeName<J>]: { job: N | JobNamed<J, N>; payload: JobPayload<JobNamed<J, N>> } & EnqueueOptions;
}[JobTypeName<J>];

/**
 * One Sluice in an app: its registry, connection, settings, HTTP app and engine calls. `J` is its job
 * definitions: `enqueue` takes only their type names, each with its own payload type.
 */
export interface Sluice<out J extends readonly JobDefinition[] = readonly JobDefinition[]> {
  readonly jobs: JobRegistry;
  /** The drizzle database (opened on first use when Sluice owns the pool). */
  readonly db: Db;
  /** The settings in force: the environment's, parsed once (config()), under the instance's overrides. */
  settings(): Config;
  /** The app this instance is on its database (SLUICE_APP, else derived from its job types) and its types:
   *  the scope of its coordination, stats, alerts and retention (lib/queue/app.ts). */
  scope(): AppScope;
  /** The Web-standard HTTP app (Hono). */
  readonly app: Hono<SluiceEnv>;
  /** Request in, Response out: what every runtime adapter calls. */
  fetch(request: Request, env?: SluiceEnv['Bindings']): Promise<Response>;
  /**
   * Enqueues one job of this instance's: `job` is a definition or its type name, `payload` is checked
   * against its schema (at compile time, and by zod when called). With `tx` the job is part of that
   * transaction. A job with the same idempotency key still in the table (live, or kept with its result) is returned instead, with `duplicate: true`.
   */
  enqueue<R extends JobRef<J>>(job: R, payload: PayloadFor<J, R>, options?: EnqueueOptions & InTx): Promise<EnqueueResult>;
  /** Enqueues many jobs in one statement per type: all of them or, on any invalid item, none. */
  enqueueMany<I extends SluiceEnqueueItem<J>>(items: readonly I[], options?: InTx): Promise<EnqueueManyResult>;
  /** One drain pass over this instance's job types (`types` narrows them); jobs of other types stay pending. */
  drain(options?: DrainOptions): Promise<DrainSummary>;
  /**
   * Starts a short drain now, after the response where the platform allows (call it once a transaction
   * that enqueued has committed: `after(() => sluice.kick())` in Next.js). Coalesces, never rejects;
   * a no-op with SLUICE_KICK off. `runtime` and `deadline` are the adapters' (default: this process's).
   */
  kick(options?: { runtime?: WakeRuntime; deadline?: number }): Promise<void>;
  /**
   * One wake: a drain invocation as a cron tick, a kick, a fan-out or a continuation runs it (`reason`):
   * schedules, idle hint, the drain, fan-out, continuation (lib/wake/wake.ts).
   */
  wake(options: WakeOptions): Promise<WakeSummary>;
  /** @deprecated Renamed wake(): "tick" now means the cron tick alone (`reason: 'tick'`). */
  tick(options: WakeOptions): Promise<WakeSummary>;
  stats(): Promise<QueueStats>;
  /**
   * A job's result: `{ status: 'completed', result }`, `{ status: 'dead', error }`, `{ status: 'cancelled' }`,
   * or its status (pending, running) when `timeoutMs` (default 0: answer at once; at most 30 s) ends first.
   * While it has yet to end it is marked awaited, so its completion keeps it even with no result.
   * JobNotFoundError for an unknown id. The result is `unknown` for an id alone; pass the job's
   * definition as `job` to type it (and check the job is of that type).
   */
  result(id: string, options?: { timeoutMs?: number }): Promise<JobResultStatus>;
  result<D extends J[number]>(id: string, options: { timeoutMs?: number; job: D }): Promise<JobResultStatus<JobResult<D>>>;
  /**
   * Sends an event: the jobs waiting for it (ctx.waitForEvent with this name and key) resume with its
   * `data`, and a job that reaches such a wait later (within SLUICE_EVENT_RETENTION) finds it. With `tx`
   * it is part of that transaction (then kick once it commits); without, the jobs it was delivered to are kicked at once.
   */
  sendEvent(name: string, event?: { key?: string; data?: unknown }, options?: InTx): Promise<SendEventResult>;
  admin: AdminCalls;
  /** Applies Sluice's migrations (its tables, in the Postgres schema `sluice`). */
  migrate(): Promise<void>;
  /** Closes Sluice's own pool, if it opened one; the next use opens a new one. */
  close(): Promise<void>;
}

/**
 * Builds the one object an app needs: `createSluice({ jobs })`. Each instance has its own registry and
 * connection, so two instances (or tests) share nothing. Its HTTP app serves /api/... on any runtime.
 */
export function createSluice<const J extends readonly JobDefinition[]>(options: SluiceOptions<J>): Sluice<J> {
  const jobs = jobRegistry(options.jobs);
  if (jobs.size === 0) throw new TypeError('createSluice() needs at least one job definition in `jobs`');
  const overrides = options.settings ? parseSettings(options.settings) : undefined;
  const settings = overrides ? () => ({ ...config(), ...overrides }) : config;
  let connection: Connection | undefined;
  const db = (): Db => {
    if (options.db) return options.db;
    if (!connection) {
      const url = options.url ?? settings().DATABASE_URL;
      if (!url) throw new MisconfiguredError('server misconfigured: DATABASE_URL is not set');
      const s = settings();
      connection = connect(url, { driver: pickDriver(url, options.driver ?? s.DATABASE_DRIVER), max: options.poolMax, wsProxy: s.NEON_WS_PROXY });
      // On Vercel, keeps the instance alive until idle clients have closed before it suspends.
      attachDatabasePool(connection.pool as Parameters<typeof attachDatabasePool>[0]);
    }
    return connection.db;
  };
  const context = () => ({ jobs, maxPayloadBytes: settings().SLUICE_MAX_PAYLOAD_BYTES });
  const definitions = [...jobs.values()];
  const ownTypes = [...jobs.keys()];
  // Worked out at each use, as the settings are: SLUICE_APP may come from an override or the environment.
  let scoped: { name: string | undefined; scope: AppScope } | undefined;
  const scope = (): AppScope => {
    const name = settings().SLUICE_APP;
    if (scoped === undefined || scoped.name !== name) scoped = { name, scope: appScope(ownTypes, name) };
    return scoped.scope;
  };
  const gate = new IdleGate(options.hints ?? defaultHintStore(() => scope().app), () => settings().SLUICE_IDLE_CHECK_MS);
  // Only this instance's types: another app (or an older deployment) on the same database may have
  // types this one cannot run, and claiming them would send them dead as unknown.
  const drainOwn = async (drainOptions: DrainOptions = {}) =>
    drain(db(), definitions, {
      maxStepBytes: settings().SLUICE_MAX_STEP_BYTES, maxResultBytes: settings().SLUICE_MAX_RESULT_BYTES,
      stepEstimatePercentile: settings().SLUICE_STEP_ESTIMATE_PERCENTILE, app: scope().app,
      keepCompleted: settings().SLUICE_COMPLETED_RETENTION > 0, ...drainOptions, types: drainOptions.types ?? ownTypes,
    });
  // Heartbeats renew a drain's leases until it ends: were it to die, they end a grace after its deadline.
  const longestLeaseMs = DRAIN_DEFAULTS.leaseGraceMs;
  const scheduleDefs = checkSchedules(options.schedules ?? [], jobs);
  // Flow limits leave spent slots of keys that never come back, steps can outlive their job (see
  // stepsPruneOrphans) and step names their use (stepTimingsPrune): a cron tick that ran jobs deletes a batch of each.
  const limited = flowLimitsOf(definitions) !== null;
  // Completed runs past retention, a batch at a time while batches come back full (a busy queue
  // completes more than one batch a minute), at most DRAIN_DEFAULTS.completedPruneBatches a tick (wake.ts says which ticks).
  const pruneRuns = async (deadline: number) => {
    const s = settings();
    let pruned = 0;
    // A batch takes well under a second; none starts in the last few, which the continuation needs.
    for (let i = 0; i < DRAIN_DEFAULTS.completedPruneBatches && Date.now() < deadline - 2_000; i++) {
      const n = await completedPrune(db(), { types: [...ownTypes], completedRetentionMs: s.SLUICE_COMPLETED_RETENTION, resultRetentionMs: s.SLUICE_RESULT_RETENTION, limit: DRAIN_DEFAULTS.pruneBatch });
      pruned += n;
      if (n < DRAIN_DEFAULTS.pruneBatch) break;
    }
    return pruned;
  };
  const prune = () => Promise.all([
    limited ? flowSlotsPrune(db(), DRAIN_DEFAULTS.pruneBatch) : 0,
    stepsPruneOrphans(db(), DRAIN_DEFAULTS.pruneBatch),
    stepTimingsPrune(db(), DRAIN_DEFAULTS.pruneBatch),
  ]);
  const host = { db, settings, scope, drain: drainOwn, gate, longestLeaseMs, schedules: scheduleRunner(scheduleDefs, db, context), prune, pruneRuns };
  const kicker = new Kicker(host);
  // The idle hint learns when new jobs fall due (a rolled-back transaction's only costs one query).
  const noteDueAt = (at: number) => resolveRuntime(settings()).waitUntil(gate.noteDue(at).catch(() => {}));
  const noteDue = (items: readonly EnqueueOptions[]) => {
    const now = Date.now();
    noteDueAt(Math.min(...items.map((i) => (i.runAt !== undefined ? +new Date(i.runAt) : now + (i.debounce?.windowMs ?? i.delayMs ?? 0)))));
  };

  const sluice: Sluice<J> = {
    jobs,
    get db() { return db(); },
    settings,
    scope,
    app: undefined as never, // set below: the app's handlers close over the finished instance
    fetch: (request, env) => Promise.resolve(sluice.app.fetch(request, env)),
    enqueue: async (job, payload, { tx, ...enqueueOptions } = {}) => {
      const { ids, duplicate, replaced } = await enqueueMany(tx ?? db(), [{ ...enqueueOptions, job, payload }], context());
      noteDue([enqueueOptions]);
      return { id: ids[0]!, duplicate: duplicate[0]!, replaced: replaced[0]! };
    },
    enqueueMany: async (items, { tx } = {}) => {
      const result = await enqueueMany(tx ?? db(), items as readonly EnqueueItem[], context());
      if (items.length > 0) noteDue(items);
      return result;
    },
    drain: drainOwn,
    kick: ({ runtime = resolveRuntime(settings()), deadline = invocationDeadline(settings()) } = {}) => {
      const kicked = kicker.kick(runtime, deadline);
      runtime.waitUntil(kicked);
      return kicked;
    },
    wake: (wakeOptions) => wake(host, wakeOptions),
    tick: (wakeOptions) => sluice.wake(wakeOptions),
    // async throughout: a missing DATABASE_URL rejects (callers' .catch() sees it) rather than throws.
    stats: async () => queueStats(db(), scope()),
    sendEvent: async (name, event = {}, { tx } = {}) => {
      const sent = await sendEvent(tx ?? db(), name, event, settings().SLUICE_MAX_PAYLOAD_BYTES);
      if (sent.delivered > 0) {
        noteDueAt(Date.now());
        if (tx === undefined && settings().SLUICE_KICK) void sluice.kick();
      }
      return sent;
    },
    result: async (id: string, resultOptions: { timeoutMs?: number; job?: JobDefinition } = {}) => jobResult(db(), id, resultOptions) as never,
    admin: {
      list: async (listOptions) => listJobs(db(), listOptions),
      export: (filter, max) => exportJobs(db(), filter, max),
      get: async (id) => getJob(db(), id),
      // A replay is due now, as a retry: of this instance's types only (another's would never be claimed here).
      replay: async (id, replayOptions = {}) => {
        const job = await replayJob(db(), id, { ...replayOptions, types: [...ownTypes] });
        noteDueAt(Date.now());
        return job;
      },
      replayMany: async (filter) => {
        const result = await replayJobs(db(), filter, [...ownTypes]);
        if (result.count > 0) noteDueAt(Date.now());
        return result;
      },
      // Both make jobs due now: the idle hint must bring the next tick even when no kick runs them.
      retry: async (id) => {
        const job = await retryJob(db(), id);
        noteDueAt(Date.now());
        return job;
      },
      // A cancelled child makes its waiting parent due (its invoke rejects).
      cancel: async (id) => {
        const job = await cancelJob(db(), id);
        noteDueAt(Date.now());
        return job;
      },
      dead: async (o) => listDeadJobs(db(), o),
      retryDead: async (o) => {
        const result = await retryDeadJobs(db(), o);
        if (result.count > 0) noteDueAt(Date.now());
        return result;
      },
      cancelDead: async (o) => cancelDeadJobs(db(), o),
      history: async (rangeMs, stepSeconds) => queueHistory(db(), rangeMs, stepSeconds, scope()),
      pause: async (type) => {
        if (!jobs.has(type)) throw new UnknownJobTypeError(type, [...ownTypes].sort());
        return pauseType(db(), type);
      },
      resume: async (type) => {
        const result = await resumeType(db(), type);
        if (result.resumed) noteDueAt(Date.now());
        return result;
      },
      schedules: async () => {
        const lasts = await scheduleLastSlots(db(), scheduleDefs.map((s) => s.name));
        return scheduleDefs.map((s) => scheduleView(s, lasts.get(s.name) ?? null, Date.now()));
      },
      types: async () => typeViews(db(), definitions),
    },
    migrate: async () => migrate(db()),
    close: async () => {
      const open = connection;
      connection = undefined;
      await open?.close();
    },
  };
  const ownRoutes = { ...sluiceRoutes, ...dashboardRoutes };
  const clash = Object.keys(options.routes ?? {}).filter((path) => path in ownRoutes);
  if (clash.length > 0) throw new TypeError(`routes: ${clash.join(', ')} is Sluice's own path`);
  // The app's paths first: a path of its own like /api/jobs/export must win over /api/jobs/:id.
  // Every route finds this instance as c.var.sluice; the app's own are handed it as well.
  const routes = { ...appRoutes(options.routes ?? {}, sluice), ...ownRoutes };
  (sluice as { app: Hono<SluiceEnv> }).app = createHttpApp(routes, async (c, next) => {
    // Untyped on purpose: the HTTP API enqueues by type names and payloads it only knows at run time (zod checks them).
    const untyped: Sluice = sluice;
    c.set('sluice', untyped);
    await next();
  });
  return sluice;
}

/** The app's own routes as the HTTP app runs them: each handed the instance beside its context. */
function appRoutes(table: RouteTable, sluice: Sluice): HttpRoutes {
  return Object.fromEntries(Object.entries(table).map(([path, handlers]) => [
    path,
    Object.fromEntries(Object.entries(handlers).map(([method, handler]) => [method, (c: Context<SluiceEnv>) => handler(c, sluice)])),
  ]));
}
