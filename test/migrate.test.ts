import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_MIGRATIONS_FOLDER, migrateApp } from '../lib/app/migrate.js';
import { connect, migrate, MIGRATIONS_FOLDER, type Db } from '../lib/queue/index.js';
import { freshDatabase } from './support/db.js';
import { select } from './support/sql.js';

/** drizzle/ as an older Sluice shipped it (public.jobs, the app's tables, autovacuum), with its journal. */
const OLD_FOLDER = fileURLToPath(new URL('./fixtures/old-migrations', import.meta.url));

const opened: { close: () => Promise<void> }[] = [];
afterAll(async () => { await Promise.all(opened.map((c) => c.close())); });

async function database() {
  const conn = await freshDatabase('pg', { migrated: false });
  opened.push(conn);
  return conn;
}

/** How many migrations a folder holds, by its journal. */
const journal = (folder: string) =>
  (JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as { entries: unknown[] }).entries.length;
const SLUICE_MIGRATIONS = journal(MIGRATIONS_FOLDER);
const APP_MIGRATIONS = journal(APP_MIGRATIONS_FOLDER);

async function regclass(db: Db, name: string): Promise<string | null> {
  const [row] = await select<{ r: string | null }>(db, sql`select to_regclass(${name})::text as r`);
  return row!.r;
}

async function count(db: Db, table: string): Promise<number> {
  const [row] = await select<{ n: number }>(db, sql`select count(*)::int as n from ${sql.raw(table)}`);
  return row!.n;
}

/** Postgres' SQLSTATE of a failed statement, wherever the driver or drizzle put it. */
async function sqlState(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code) return e.code;
    throw error;
  }
  return undefined;
}

/** The indexes, check constraints and storage settings of sluice.jobs. */
async function shape(db: Db) {
  const indexes = await select<{ name: string }>(
    db, sql`select indexname as name from pg_indexes where schemaname = 'sluice' and tablename = 'jobs' order by 1`);
  const checks = await select<{ name: string }>(
    db, sql`select conname as name from pg_constraint where conrelid = 'sluice.jobs'::regclass and contype = 'c' order by 1`);
  const [opts] = await select<{ o: string[] }>(db, sql`select reloptions as o from pg_class where oid = 'sluice.jobs'::regclass`);
  return { indexes: indexes.map((r) => r.name), checks: checks.map((r) => r.name), options: [...(opts!.o ?? [])].sort() };
}

const EXPECTED_SHAPE = {
  indexes: [
    'jobs_cancelled_idx', 'jobs_claim_idx', 'jobs_completed_idx', 'jobs_dead_idx', 'jobs_dead_type_idx', 'jobs_debounce_idx', 'jobs_fair_idx', 'jobs_parent_idx', 'jobs_pkey',
    'jobs_replay_idx', 'jobs_rescue_idx', 'jobs_type_idempotency_key_idx', 'jobs_wait_for_idx', 'jobs_waiting_idx',
  ],
  checks: ['jobs_attempts_check', 'jobs_lease_check', 'jobs_status_check'],
  options: [
    'autovacuum_analyze_scale_factor=0.01',
    'autovacuum_vacuum_insert_scale_factor=0.01',
    'autovacuum_vacuum_scale_factor=0.01',
  ],
};

/** A database as an older Sluice left it: its drizzle/ applied and bookkept in drizzle.__drizzle_migrations. */
async function oldDatabase() {
  const conn = await database();
  await migrate(conn.db, { folder: OLD_FOLDER, schema: 'drizzle', table: '__drizzle_migrations' });
  expect(await regclass(conn.db, 'public.jobs')).toBe('jobs');
  expect(await count(conn.db, 'drizzle.__drizzle_migrations')).toBe(3);
  await conn.db.execute(sql`
    insert into public.jobs (id, type, payload, status, attempts, max_attempts, run_after, locked_until, lock_token, last_error, idempotency_key)
    values ('01900000-0000-7000-8000-000000000001', 'send', '{"n":1}', 'pending', 0, 5, now() + interval '1 hour', null, null, null, 'key-1'),
           ('01900000-0000-7000-8000-000000000002', 'send', '{"n":2}', 'running', 1, 5, now(), now() + interval '5 minutes',
            '01900000-0000-7000-8000-0000000000aa', null, null),
           ('01900000-0000-7000-8000-000000000003', 'send', '{"n":3}', 'dead', 5, 5, now(), null, null, 'attempt 5/5: boom', null)`);
  await conn.db.execute(sql`insert into public.users (email, name) values ('old@example.com', 'Old')`);
  const before = await select<{ job: Record<string, unknown> }>(conn.db, sql`select to_jsonb(j) as job from public.jobs j order by id`);
  return { ...conn, before: before.map((r) => r.job) };
}

async function expectMoved(db: Db, before: Record<string, unknown>[]) {
  const after = await select<{ job: Record<string, unknown> }>(db, sql`select to_jsonb(j) as job from sluice.jobs j order by id`);
  // Every row as it was, plus the columns later migrations add, null for old rows (0006: debounce_key;
  // 0007: concurrency_key, rate_key; 0009: trace_parent, and dead_at, which a dead row gets from its last
  // run or, never started, its creation; 0010: fairness_key; 0013: result, completed_at, cancelled_at,
  // cancel_requested_at, progress, and awaited, false; 0015: parent_id, parent_step, wait_for, and deliveries, 0;
  // 0016: attempt_log, replay_of).
  const added = ['debounce_key', 'concurrency_key', 'rate_key', 'fairness_key', 'trace_parent', 'dead_at',
    'result', 'completed_at', 'cancelled_at', 'cancel_requested_at', 'progress', 'awaited', 'parent_id', 'parent_step', 'wait_for', 'deliveries', 'attempt_log', 'replay_of'];
  expect(after.map(({ job }) => added.map((column) => (column === 'dead_at' && job.status === 'dead' ? job[column] === job.created_at : job[column]))))
    .toEqual(before.map((job) => [null, null, null, null, null, job.status === 'dead' ? true : null, null, null, null, null, null, false, null, null, null, 0, null, null]));
  expect(after.map(({ job }) => Object.fromEntries(Object.entries(job).filter(([column]) => !added.includes(column))))).toEqual(before);
  expect(after.map((r) => r.job.status)).toEqual(['pending', 'running', 'dead']);
  // What is left in public is a view onto sluice.jobs, for the old deployment still running.
  expect(await select(db, sql`select relkind from pg_class where oid = 'public.jobs'::regclass`)).toEqual([{ relkind: 'v' }]);
  expect(await shape(db)).toEqual(EXPECTED_SHAPE);
}

describe('migrate', () => {
  it('on a fresh database creates sluice.jobs and nothing in public, bookkept in sluice.__drizzle_migrations', async () => {
    const { db } = await database();
    await migrate(db);
    expect(await regclass(db, 'sluice.jobs')).toBe('sluice.jobs');
    expect(await regclass(db, 'public.jobs')).toBeNull();
    expect(await shape(db)).toEqual(EXPECTED_SHAPE);
    const inPublic = await select(db, sql`select tablename from pg_tables where schemaname = 'public'`);
    expect(inPublic).toEqual([]);
    expect(await count(db, 'sluice.__drizzle_migrations')).toBe(SLUICE_MIGRATIONS);
    expect(await regclass(db, 'drizzle.__drizzle_migrations')).toBeNull(); // the app's bookkeeping is not Sluice's

    await migrateApp(db);
    expect(await regclass(db, 'public.users')).toBe('users');
    expect(await regclass(db, 'public.sent_emails')).toBe('sent_emails');
    expect(await count(db, 'drizzle.__drizzle_migrations')).toBe(APP_MIGRATIONS);
  });

  it('is not confused by an app\'s own drizzle migrations bookkept in drizzle.__drizzle_migrations', async () => {
    const { db } = await database();
    // An app whose latest migration is newer than any of Sluice's: with one shared table, Sluice's would be skipped.
    await db.execute(sql`create schema drizzle`);
    await db.execute(sql`create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`);
    await db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('app', 9999999999999)`);
    await migrate(db);
    expect(await regclass(db, 'sluice.jobs')).toBe('sluice.jobs');
    expect(await select(db, sql`select hash, created_at::text from drizzle.__drizzle_migrations`)).toEqual([
      { hash: 'app', created_at: '9999999999999' },
    ]);
  });

  it('moves the public.jobs of an older Sluice into the schema sluice with every row, index and constraint', async () => {
    const { db, before } = await oldDatabase();
    await migrateApp(db);
    await expectMoved(db, before);

    // The constraints still hold on the moved table.
    const insert = (values: string) => db.execute(sql.raw(`insert into sluice.jobs (type, payload, status, idempotency_key) values ${values}`));
    expect(await sqlState(insert(`('x', '{}', 'finished', null)`))).toBe('23514'); // jobs_status_check
    expect(await sqlState(insert(`('x', '{}', 'running', null)`))).toBe('23514'); // jobs_lease_check: running needs a lease
    expect(await sqlState(insert(`('send', '{}', 'pending', 'key-1')`))).toBe('23505'); // jobs_type_idempotency_key_idx
    expect(await sqlState(insert(`('x', '{}', 'pending', 'key-1')`))).toBeUndefined(); // keys are per type (0003)
    expect(await sqlState(db.execute(sql`insert into sluice.jobs (type, payload, max_attempts) values ('x', '{}', 0)`))).toBe('23514');
    expect(await sqlState(insert(`('x', '{}', 'pending', 'key-2')`))).toBeUndefined();

    // The app's tables and rows are as they were; the old bookkeeping rows are left, the app's set is added.
    expect(await select(db, sql`select email from public.users`)).toEqual([{ email: 'old@example.com' }]);
    expect(await count(db, 'drizzle.__drizzle_migrations')).toBe(3 + APP_MIGRATIONS);
    expect(await count(db, 'sluice.__drizzle_migrations')).toBe(SLUICE_MIGRATIONS);
  });

  it('leaves an app\'s own public.jobs alone and creates sluice.jobs beside it', async () => {
    const { db } = await database();
    // Not Sluice's: other columns, even a lock_token, but not Sluice's lease check.
    await db.execute(sql.raw(`
      create table public.jobs (id serial primary key, title text not null, lock_token text, done boolean default false);
      create index jobs_claim_idx on public.jobs (title);
      insert into public.jobs (title, lock_token) values ('plumbing', 'abc'), ('painting', null);`));
    const columns = () => select(db, sql`
      select column_name, data_type from information_schema.columns where table_schema = 'public' and table_name = 'jobs' order by ordinal_position`);
    const columnsBefore = await columns();
    await migrateApp(db);
    await migrateApp(db);
    expect(await columns()).toEqual(columnsBefore);
    expect(await select(db, sql`select id, title, lock_token, done from public.jobs order by id`)).toEqual([
      { id: 1, title: 'plumbing', lock_token: 'abc', done: false },
      { id: 2, title: 'painting', lock_token: null, done: false },
    ]);
    expect(await regclass(db, 'public.jobs_claim_idx')).toBe('jobs_claim_idx');
    expect(await regclass(db, 'sluice.jobs')).toBe('sluice.jobs');
    expect(await count(db, 'sluice.jobs')).toBe(0);
    expect(await shape(db)).toEqual(EXPECTED_SHAPE);
  });

  it('is idempotent: twice in a row, and several processes at once on an old database', async () => {
    const { db, url, before } = await oldDatabase();
    const others = [1, 2, 3].map(() => connect(url, { driver: 'pg' }));
    opened.push(...others);
    await Promise.all([db, ...others.map((c) => c.db)].map((d) => migrateApp(d)));
    await migrateApp(db);
    await migrate(db);
    await expectMoved(db, before);
    expect(await count(db, 'sluice.__drizzle_migrations')).toBe(SLUICE_MIGRATIONS);
    expect(await count(db, 'drizzle.__drizzle_migrations')).toBe(3 + APP_MIGRATIONS);
  });

  it('keeps the old version\'s unqualified statements working through the view public.jobs', async () => {
    const { db } = await oldDatabase();
    await migrateApp(db);
    // The shapes of the old queries.ts: an idempotent insert, the claim (FOR UPDATE SKIP LOCKED), a delete.
    // Since keys are per type (0003) the old keyed insert names an index that is gone: it fails until
    // the new deployment serves (docs/upgrading.md); the rest works as before.
    const keyed = sql`insert into jobs (type, payload, idempotency_key) values ('old', '{}', 'old-1')
      on conflict (idempotency_key) where idempotency_key is not null do nothing returning id`;
    expect(await sqlState(db.execute(keyed))).toBe('42P10');
    const [inserted] = await select<{ id: string }>(db, sql`insert into jobs (type, payload) values ('old', '{}') returning id`);
    const claimed = await select<{ id: string }>(db, sql`update jobs j set status = 'running', lock_token = gen_random_uuid(),
        locked_until = now() + interval '1 minute', attempts = j.attempts + 1
      where j.id = any(array(select id from jobs where status = 'pending' and run_after <= now() and type = 'old'
        order by priority desc nulls last, run_after limit 10 for update skip locked)) returning j.id`);
    expect(claimed).toEqual([inserted]);
    expect(await select(db, sql`select status from sluice.jobs where id = ${inserted!.id}`)).toEqual([{ status: 'running' }]);
    await db.execute(sql`delete from jobs where id = ${inserted!.id}`);
    expect(await count(db, 'sluice.jobs')).toBe(3);
  });

  it('keeps the previous version\'s coordination statements working once apps are told apart (0010)', async () => {
    const { db } = await database();
    await migrateApp(db);
    // The shapes of 0009's queries: they write the tables of before apps (still there, unused) and samples
    // naming no app; each must succeed, or that deployment's claims would fail while the new one builds.
    const before = [
      sql`insert into sluice.queue_state (id, last_drain_ok_at) select 1, now() on conflict (id) do update set last_drain_ok_at = excluded.last_drain_ok_at, kick_sent_at = null`,
      sql`insert into sluice.queue_state as q (id, kick_sent_at) values (1, now()) on conflict (id) do update set kick_sent_at = now()`,
      sql`insert into sluice.drain_slots as d (slot, held_until) values (1, now()) on conflict (slot) do update set held_until = excluded.held_until`,
      sql`insert into sluice.alerts as a (name, active, detail) values ('dead', true, '1') on conflict (name) do update set active = excluded.active`,
      sql`insert into sluice.queue_samples (minute, type, pending, due, running, dead, oldest_due_ms)
          select date_trunc('minute', now()), '', 0, 0, 0, 0, 0 on conflict do nothing`,
      sql`select (extract(epoch from now() - last_drain_ok_at) * 1000)::float8 from sluice.queue_state where id = 1`,
    ];
    for (const statement of before) expect(await sqlState(db.execute(statement))).toBeUndefined();
    expect(await select(db, sql`select app, type from sluice.queue_samples`)).toEqual([{ app: '', type: '' }]);
  });

  it('is idempotent on a fresh database, several processes at once', async () => {
    const { db, url } = await database();
    const others = [1, 2, 3].map(() => connect(url, { driver: 'pg' }));
    opened.push(...others);
    await Promise.all([db, ...others.map((c) => c.db)].map((d) => migrateApp(d)));
    await migrateApp(db);
    expect(await shape(db)).toEqual(EXPECTED_SHAPE);
    expect(await regclass(db, 'public.jobs')).toBeNull();
    expect(await count(db, 'sluice.__drizzle_migrations')).toBe(SLUICE_MIGRATIONS);
  });
});
