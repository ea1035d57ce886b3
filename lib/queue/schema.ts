import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The job states. The database enforces them with a check constraint; README.md draws the machine:
 * pending -> running (claim) -> deleted (success) | pending (retry, release, rescue) | dead (exhausted).
 * dead -> pending only by a human (retry).
 */
export const JOB_STATUSES = ['pending', 'running', 'dead'] as const;
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
    /** Lease token: outcomes are written only while it still matches (see queries.ts). */
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
  },
  (t) => [
    check('jobs_status_check', sql`${t.status} in ('pending', 'running', 'dead')`),
    check('jobs_attempts_check', sql`${t.attempts} >= 0 and ${t.maxAttempts} >= 1`),
    check('jobs_lease_check', sql`(${t.status} = 'running') = (${t.lockToken} is not null and ${t.lockedUntil} is not null)`),
    // The claim walks this index in order; dead rows and running rows are not in it.
    index('jobs_claim_idx').on(t.priority.desc(), t.runAfter).where(sql`${t.status} = 'pending'`),
    // The rescue looks only at running rows.
    index('jobs_rescue_idx').on(t.lockedUntil).where(sql`${t.status} = 'running'`),
    // Keys are per type: the same key on two types is two jobs (an email and an invoice for order 42).
    // The debounced enqueue finds the pending job of its key here; the rows without a key are not in it.
    index('jobs_debounce_idx').on(t.type, t.debounceKey).where(sql`${t.debounceKey} is not null and ${t.status} = 'pending'`),
    uniqueIndex('jobs_type_idempotency_key_idx').on(t.type, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
  ],
);

/**
 * Queue-wide state, one row (id 1): when a drain last ended well, for the dead-man switch in
 * /api/health (crons that silently stop after a deploy are a known failure). Written once per drain.
 */
export const queueState = sluiceSchema.table(
  'queue_state',
  {
    id: integer('id').primaryKey(),
    lastDrainOkAt: timestamp('last_drain_ok_at', { withTimezone: true, mode: 'date' }),
    /** When a kick started a drain elsewhere (Lambda) that has not yet found the queue empty: kicks
     *  from other instances meanwhile are not sent, as that drain will see their jobs. */
    kickSentAt: timestamp('kick_sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [check('queue_state_one_row', sql`${t.id} = 1`)],
);

/**
 * Leases on the drains a tick fans out and the continuations that follow them: at most
 * SLUICE_MAX_FANOUT - 1 slots are held at once, so ticks arriving while a backlog drains (and chains of
 * continuations) never multiply the drains. A slot is free once held_until has passed, so a drain that
 * crashed holding one frees it by itself.
 */
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
 * Durable steps (issue 11): each finished step of a job, its JSON result, replayed by later runs of the
 * job instead of running the step again. Written only while the run holds the job's lease; deleted by
 * the statement that deletes the succeeded job (no foreign key: a cascade would cost every job delete
 * a trigger, steps or not), by a cancel, and, for orphans, by the cron tick.
 */
export const jobSteps = sluiceSchema.table(
  'job_steps',
  {
    jobId: uuid('job_id').notNull(),
    name: text('name').notNull(),
    result: jsonb('result').notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.name] })],
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
