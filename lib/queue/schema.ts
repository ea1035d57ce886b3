import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The job states. The database enforces them with a check constraint; docs/concepts.md draws the machine:
 * pending -> running (claim) -> deleted (success with nothing to keep) | completed (success with a result,
 * or awaited) | pending (retry, release, rescue) | waiting (its handler awaits child jobs or an event) |
 * dead (exhausted) | cancelled (a cancel was requested). A success is deleted only with
 * SLUICE_COMPLETED_RETENTION 0; by default every completed run is kept, as the run history. waiting -> pending when a child ends, an event it
 * waits for is sent, or its deadline passes: waiting jobs hold no lease, no drain and no connection, and
 * the claim never sees them (its index is partial on pending). dead -> pending only by a human (retry);
 * pending, waiting and dead -> cancelled by a human (cancel). completed rows are kept for
 * SLUICE_COMPLETED_RETENTION (those with a result or awaited at least SLUICE_RESULT_RETENTION), cancelled
 * ones for SLUICE_RESULT_RETENTION.
 */
export const JOB_STATUSES = ['pending', 'running', 'waiting', 'dead', 'completed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Sluice's tables live in a Postgres schema of their own, so an app's own `public.jobs` (or any other
 * table) never collides with the queue's. Its migrations are bookkept in sluice.__drizzle_migrations.
 */
export const sluiceSchema = pgSchema('sluice');

export const jobs = sluiceSchema.table(
  'jobs',
  {
    /** Enqueue writes time-ordered UUIDv7 ids (ids.ts), so id order is creation order. */
    id: uuid('id').primaryKey().defaultRandom(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status').$type<JobStatus>().notNull().default('pending'),
    /** Higher runs first. */
    priority: integer('priority').notNull().default(0),
    /** Started runs: incremented at claim, so a run that kills its drain still counts. */
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    runAfter: timestamp('run_after', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Lease: while status is running, the claim holds the job until this time. */
    lockedUntil: timestamp('locked_until', { withTimezone: true, mode: 'date' }),
    /** Lease token: outcomes are written only while it still matches (see core/queries-drain.ts). */
    lockToken: uuid('lock_token'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    idempotencyKey: text('idempotency_key'),
    /** Debounce: at most one pending job per type and key takes the latest payload (enqueue.ts). */
    debounceKey: text('debounce_key'),
    /** Flow limits (issue 10): the key a job of a limited type counts under ('' for the whole type),
     *  set at enqueue from the definition's key function; null when its type had no such limit. */
    concurrencyKey: text('concurrency_key'),
    rateKey: text('rate_key'),
    /** Fairness: the key (a tenant, an account) a job of a fair type is claimed round-robin under, set at
     *  enqueue from the definition's key function; null when its type had none. */
    fairnessKey: text('fairness_key'),
    /** When the job went dead (null unless dead): SLUICE_DEAD_RETENTION counts from here. Not a check
     *  constraint: an older deployment still running during a deploy writes dead rows without it, and
     *  the cron tick stamps those (queries-housekeeping.ts) rather than failing its outcome writes. */
    deadAt: timestamp('dead_at', { withTimezone: true, mode: 'date' }),
    /** The enqueuing span's W3C traceparent (issue 12), when the app traces: its runs link to it. */
    traceParent: text('trace_parent'),
    /** What the handler returned (JSON), once completed; null when it returned nothing. */
    result: jsonb('result'),
    /** When it completed (null unless completed): SLUICE_RESULT_RETENTION counts from here. */
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    /** When it was cancelled (null unless cancelled): SLUICE_RESULT_RETENTION counts from here. */
    cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
    /** A cancel of the running job was asked for: its drain aborts it at its next lease renewal, and
     *  whatever outcome it ends with is written as cancelled. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true, mode: 'date' }),
    /** Someone awaits its result (sluice.result): its completion keeps the row even with no result. */
    awaited: boolean('awaited').notNull().default(false),
    /** The handler's latest ctx.progress() value (JSON), written with the drain's lease renewals. */
    progress: jsonb('progress'),
    /** A child job (ctx.invoke): the job that invoked it, and the invoke's name there. One child per pair. */
    parentId: uuid('parent_id'),
    parentStep: text('parent_step'),
    /** Counts deliveries to the job (a child's end, an event): a run about to wait compares it with what
     *  it read, so a delivery that lands while the run decides to wait is never lost (waits.ts). */
    deliveries: integer('deliveries').notNull().default(0),
    /** While waiting: the events it waits for, each `name chr(1) key` (sendEvent finds it by them). */
    waitFor: text('wait_for').array(),
    /** The attempts before the last one, oldest first (the last one is the row itself: started_at, its
     *  end and last_error): each `{ attempt, startedAt, endedAt, outcome, error }`, appended by the outcome
     *  write of a retry and by a human's retry of a dead job, at most ATTEMPT_LOG_LIMIT of them. A
     *  first-attempt success, most runs, writes nothing here. */
    attemptLog: jsonb('attempt_log'),
    /** A replay (admin.replay): the job it ran again. */
    replayOf: uuid('replay_of'),
  },
  (t) => [
    check('jobs_status_check', sql`${t.status} in ('pending', 'running', 'waiting', 'dead', 'completed', 'cancelled')`),
    check('jobs_attempts_check', sql`${t.attempts} >= 0 and ${t.maxAttempts} >= 1`),
    check('jobs_lease_check', sql`(${t.status} = 'running') = (${t.lockToken} is not null and ${t.lockedUntil} is not null)`),
    // The claim walks this index in order, one type at a time (claimWalk in core/queries-walk.ts): other types'
    // rows, dead rows and running rows are never read.
    index('jobs_claim_idx').on(t.type, t.priority.desc(), t.runAfter).where(sql`${t.status} = 'pending'`),
    // A fair type's claim walks this one key at a time (and finds its keys by skipping along it).
    index('jobs_fair_idx').on(t.type, t.fairnessKey, t.priority.desc(), t.runAfter).where(sql`${t.status} = 'pending' and ${t.fairnessKey} is not null`),
    // The rescue looks only at running rows.
    index('jobs_rescue_idx').on(t.lockedUntil).where(sql`${t.status} = 'running'`),
    // The dashboard lists dead jobs newest first, and retention deletes the oldest: only dead rows.
    index('jobs_dead_idx').on(t.deadAt).where(sql`${t.status} = 'dead'`),
    // One app's own dead jobs, never another's rows (stats, samples, retention: queries-stats.ts; its
    // pending ones are counted along jobs_claim_idx). Its order (dead_at nulls first, within a type) is
    // one no other index gives, which is how the statements that walk it make the planner do so.
    index('jobs_dead_type_idx').on(t.type, t.deadAt.asc().nullsFirst()).where(sql`${t.status} = 'dead'`),
    // Retention deletes the oldest completed and cancelled jobs of each of the app's types (queries-housekeeping.ts).
    index('jobs_completed_idx').on(t.type, t.completedAt).where(sql`${t.status} = 'completed'`),
    index('jobs_cancelled_idx').on(t.type, t.cancelledAt).where(sql`${t.status} = 'cancelled'`),
    // Keys are per type: the same key on two types is two jobs (an email and an invoice for order 42).
    // The debounced enqueue finds the pending job of its key here; the rows without a key are not in it.
    index('jobs_debounce_idx').on(t.type, t.debounceKey).where(sql`${t.debounceKey} is not null and ${t.status} = 'pending'`),
    // An invoke enqueues its child once: a second insert of the same parent and name finds this one.
    uniqueIndex('jobs_parent_idx').on(t.parentId, t.parentStep).where(sql`${t.parentId} is not null`),
    // sendEvent finds the jobs waiting for its event here; the cron tick finds an app's waits whose
    // deadline passed, and an empty claim the next one to pass (for the idle hint), a type at a time.
    index('jobs_wait_for_idx').using('gin', t.waitFor).where(sql`${t.status} = 'waiting'`),
    index('jobs_waiting_idx').on(t.type, t.runAfter).where(sql`${t.status} = 'waiting'`),
    // A job's page lists its replays; the few rows that are replays are the whole index.
    index('jobs_replay_idx').on(t.replayOf).where(sql`${t.replayOf} is not null`),
    uniqueIndex('jobs_type_idempotency_key_idx').on(t.type, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
  ],
);

/**
 * Apps (createSluice instances with one job set, SLUICE_APP) sharing a database each coordinate apart:
 * these tables are keyed by the app's name, so one app's drains, kicks and alerts never stand in for
 * another's (lib/queue/app.ts).
 *
 * Per app, one row: when a drain last ended well, for the dead-man switch in /api/health (crons that
 * silently stop after a deploy are a known failure), written once per drain; and the last Lambda kick.
 */
export const apps = sluiceSchema.table('apps', {
  app: text('app').primaryKey(),
  lastDrainOkAt: timestamp('last_drain_ok_at', { withTimezone: true, mode: 'date' }),
  /** When a kick started a drain elsewhere (Lambda) that has not yet found the queue empty: kicks
   *  from other instances meanwhile are not sent, as that drain will see their jobs. */
  kickSentAt: timestamp('kick_sent_at', { withTimezone: true, mode: 'date' }),
});

/**
 * Per app, leases on the drains a tick fans out and the continuations that follow them: at most
 * SLUICE_MAX_FANOUT - 1 slots are held at once, so ticks arriving while a backlog drains (and chains of
 * continuations) never multiply the drains. A slot is free once held_until has passed, so a drain that
 * crashed holding one frees it by itself.
 */
export const appDrainSlots = sluiceSchema.table(
  'app_drain_slots',
  {
    app: text('app').notNull(),
    slot: integer('slot').notNull(),
    heldUntil: timestamp('held_until', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.app, t.slot] })],
);

/**
 * Before apps: the same state for the whole database (queue_state, one row id 1; drain_slots).
 * Unused since migration 0010; kept so that a deployment of the previous version, still serving while
 * the new one builds, keeps writing somewhere. A later version's migration drops them, with alerts.
 */
export const queueState = sluiceSchema.table(
  'queue_state',
  {
    id: integer('id').primaryKey(),
    lastDrainOkAt: timestamp('last_drain_ok_at', { withTimezone: true, mode: 'date' }),
    kickSentAt: timestamp('kick_sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [check('queue_state_one_row', sql`${t.id} = 1`)],
);
export const drainSlots = sluiceSchema.table('drain_slots', {
  slot: integer('slot').primaryKey(),
  heldUntil: timestamp('held_until', { withTimezone: true, mode: 'date' }).notNull(),
});

/**
 * Job types paused by an operator (issue 10): drains claim none of their jobs until resumed. Kept in the
 * database so every concurrent drain, on every instance, sees the same pause at its next claim.
 */
export const pausedTypes = sluiceSchema.table('paused_types', {
  type: text('type').primaryKey(),
  pausedAt: timestamp('paused_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const FLOW_LIMITERS = ['concurrency', 'rate'] as const;

/**
 * Flow limits' slots (issue 10): a limit of N for a type and key is N numbered slots, and a claim starts
 * a job of a limited type only by taking a free one in the same statement (queries-flow.ts). A slot is
 * free once held_until has passed: a concurrency slot is held for its job's lease and deleted when the
 * job's outcome is written; a rate slot is held for one period from the start. Two drains cannot take
 * one slot: the taking upsert re-checks held_until on the latest row version, under its lock.
 */
export const flowSlots = sluiceSchema.table(
  'flow_slots',
  {
    type: text('type').notNull(),
    limiter: text('limiter').$type<(typeof FLOW_LIMITERS)[number]>().notNull(),
    key: text('key').notNull(),
    slot: integer('slot').notNull(),
    heldUntil: timestamp('held_until', { withTimezone: true, mode: 'date' }).notNull(),
    /** The job and lease token that took it: its outcome frees a concurrency slot (only that claim's). */
    jobId: uuid('job_id').notNull(),
    token: uuid('token').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.type, t.limiter, t.key, t.slot] }),
    check('flow_slots_limiter_check', sql`${t.limiter} in ('concurrency', 'rate')`),
    check('flow_slots_slot_check', sql`${t.slot} >= 1`),
    // Outcomes free their jobs' concurrency slots by job id.
    index('flow_slots_job_idx').on(t.jobId).where(sql`${t.limiter} = 'concurrency'`),
  ],
);

/**
 * Durable steps: each finished step of a job, its JSON result, replayed by later runs of the
 * job instead of running the step again. Written only while the run holds the job's lease; kept with
 * its completed or cancelled job (the job's page shows them, a replay from a step copies them) and
 * deleted with it by retention; deleted by the statement that deletes a succeeded job (no foreign key: a cascade would cost every job delete
 * a trigger, steps or not), by a cancel, and, for orphans, by the cron tick.
 */
export const jobSteps = sluiceSchema.table(
  'job_steps',
  {
    jobId: uuid('job_id').notNull(),
    name: text('name').notNull(),
    result: jsonb('result').notNull(),
    /** How long the step's function ran, ms (null for a sleep, a wait or an invoke, which are not timed). */
    durationMs: integer('duration_ms'),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.name] })],
);

/**
 * Events (sluice.sendEvent): a waiting job (ctx.waitForEvent) takes the first one of its name and key
 * sent after it was enqueued that it has not taken before. Kept SLUICE_EVENT_RETENTION (the cron tick
 * deletes older ones), so an event sent before a job reached its wait is not missed.
 */
export const events = sluiceSchema.table(
  'events',
  {
    /** UUIDv7: id order is send order. */
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    key: text('key').notNull(),
    data: jsonb('data'),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('events_name_key_idx').on(t.name, t.key, t.id), index('events_sent_idx').on(t.sentAt)],
);

/**
 * The last slot each schedule (defineSchedule, in code) has enqueued (issue 10). A tick advances it
 * in the same transaction as it enqueues the slot's job, and only from an earlier value, so of two
 * ticks at once one enqueues and the other finds the slot taken. Rows of schedules removed from the
 * code are simply never read again.
 */
export const schedules = sluiceSchema.table('schedules', {
  name: text('name').primaryKey(),
  lastSlot: timestamp('last_slot', { withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * The queue's history (issue 12): per minute and job type, what drains did. Drains add to it in the
 * statements that write outcomes (queries-history.ts), never one of its own; the cron tick prunes rows
 * older than SLUICE_HISTORY_RETENTION. Histograms count runs per bucket of HISTORY_BUCKETS_MS.
 */
export const jobHistory = sluiceSchema.table(
  'job_history',
  {
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    type: text('type').notNull(),
    completed: integer('completed').notNull().default(0),
    retried: integer('retried').notNull().default(0),
    dead: integer('dead').notNull().default(0),
    /** Expired leases found and settled (their drain crashed, was killed or overran). */
    rescued: integer('rescued').notNull().default(0),
    /** Runs by run time (ms, from start to outcome). */
    runHist: integer('run_hist').array().notNull(),
    /** Runs by lag: from when the job was due to when a drain claimed it. */
    lagHist: integer('lag_hist').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.type] })],
);

/**
 * Each app's queue depth, sampled once a minute by its cron tick's first claim (issue 12), so the
 * dashboard can chart it and stats can read counts too large to count on every call (queries-stats.ts);
 * pruned with the history. Rows per type of the app, and type '' for the app's whole queue.
 */
export const queueSamples = sluiceSchema.table(
  'queue_samples',
  {
    /** The app (apps.app). '' for rows sampled before apps were told apart (pruned by any app). */
    app: text('app').notNull().default(''),
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    /** '' for the app's whole queue (a job type is never empty). */
    type: text('type').notNull(),
    pending: integer('pending').notNull(),
    /** Pending and due (run_after passed), of types not paused. */
    due: integer('due').notNull(),
    running: integer('running').notNull(),
    dead: integer('dead').notNull(),
    /** How long the oldest due job had been due, in ms (0 when none), of types not paused. */
    oldestDueMs: doublePrecision('oldest_due_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.app, t.minute, t.type] })],
);

/**
 * Each app's alert conditions' last known state (issue 12): a message goes out when one changes (or as
 * a reminder every ALERT_REPEAT_MS while it holds). The upsert that records a change is the
 * compare-and-set that lets one tick of many send it.
 */
export const appAlerts = sluiceSchema.table(
  'app_alerts',
  {
    app: text('app').notNull(),
    name: text('name').notNull(),
    active: boolean('active').notNull(),
    detail: text('detail').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** When the last message about it went out; null when sending it failed (the next check sends again). */
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.app, t.name] })],
);

/** Before apps: alert states for the whole database. Unused since migration 0010 (see queueState). */
export const alerts = sluiceSchema.table('alerts', {
  name: text('name').primaryKey(),
  active: boolean('active').notNull(),
  detail: text('detail').notNull(),
  changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
});

/**
 * The dashboard's sessions: the cookie names a row here (and is signed, so only a holder of
 * ADMIN_SECRET could name one), and the row, not the cookie, says until when it is valid. Logging out
 * deletes the row, so a copied cookie is refused everywhere at once; expired rows are deleted by later
 * logins (queries-auth.ts).
 */
export const sessions = sluiceSchema.table(
  'sessions',
  {
    /** Random, 24 base64url characters: the cookie's middle part. */
    id: text('id').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Set by the server at login (SESSION_MS later), never read from the cookie. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('sessions_expires_idx').on(t.expiresAt)],
);

/**
 * Wrong secrets per client address (a dashboard password or a bearer token), in a fixed window from
 * the first one: an address past SLUICE_AUTH_MAX_FAILURES is refused until its window ends. In the
 * database so every serverless instance counts together; one row per address, rows of ended windows
 * deleted a few at a time by later failures.
 */
export const authFailures = sluiceSchema.table(
  'auth_failures',
  {
    /** The client's address (an IPv6 address by its /64: one host holds that many). */
    client: text('client').primaryKey(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    failures: integer('failures').notNull(),
  },
  (t) => [index('auth_failures_window_idx').on(t.windowStart)],
);

/**
 * How long each durable step took, per job type and step name: the last STEP_TIMINGS_WINDOW runs' ms,
 * newest last. Written by the statement that records a finished step (queries-step-timings.ts), read
 * once per type by a drain pass to estimate whether a step fits before its deadline. Bounded: at most
 * STEP_TIMINGS_PER_TYPE rows per type and none unused for STEP_TIMINGS_RETENTION_DAYS (a tick prunes).
 */
export const stepTimings = sluiceSchema.table(
  'step_timings',
  {
    type: text('type').notNull(),
    step: text('step').notNull(),
    durationsMs: integer('durations_ms').array().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  // No index on updated_at: every step moves it, and an indexed column would make each update a
  // non-HOT one. The tick's prune reads the whole table, which its bounds keep small.
  (t) => [primaryKey({ columns: [t.type, t.step] })],
);
