import { sql } from 'drizzle-orm';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshDatabase } from './support/db.js';
import { fixtureDir, runCli, sluiceHere } from './support/cli.js';
import { select } from './support/sql.js';

// migrate, status, retry and cancel against a real database, from an app folder's .env.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
let dir: string;
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/postgres';

beforeAll(async () => {
  conn = await freshDatabase('pg', { migrated: false });
  dir = fixtureDir({});
});
afterAll(async () => {
  await conn?.close();
});
beforeEach(() => {
  // The folder's .env.local decides, not whatever the test process was started with.
  for (const key of ['DATABASE_URL', 'DATABASE_URL_UNPOOLED', 'DATABASE_DRIVER', 'SLUICE_APP']) vi.stubEnv(key, '');
  // .env: vitest sets NODE_ENV=test, under which Next (and so the CLI) skips .env.local.
  writeFileSync(join(dir, '.env'), `DATABASE_URL=${conn.url}\n`);
});

const statuses = async () => (await select<{ type: string; status: string }>(conn.db, sql`select type, status from sluice.jobs order by type, status`));
const insert = async (type: string, status: 'pending' | 'dead') =>
  (await select<{ id: string }>(conn.db, sql`insert into sluice.jobs (type, payload, status, dead_at)
    values (${type}, '{}', ${status}, ${status === 'dead' ? sql`now()` : null}) returning id`))[0]!.id;

describe('sluice migrate, status, retry, cancel, export', () => {
  it('migrate applies Sluice\'s migrations on DATABASE_URL_UNPOOLED over DATABASE_URL, and again finds nothing to do', async () => {
    writeFileSync(join(dir, '.env'), `DATABASE_URL=${UNREACHABLE}\nDATABASE_URL_UNPOOLED="${conn.url}"\n`);
    for (let i = 0; i < 2; i++) {
      const run = await sluiceHere(['migrate', '--dir', dir]);
      expect([run.code, run.stdout, run.stderr]).toEqual([0, 'sluice migrate: migrations applied', '']);
    }
    const tables = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from information_schema.tables where table_schema = 'sluice' and table_name = 'jobs'`);
    expect(tables[0]!.n).toBe(1);
  });

  it('status shows depth by type and the dead jobs', async () => {
    await insert('mail', 'pending');
    await insert('mail', 'pending');
    const dead = await insert('mail', 'dead');
    await insert('report', 'dead');
    const json = await sluiceHere(['status', '--json', '--dir', dir]);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.stats).toMatchObject({ pending: 2, running: 0, dead: 2, byType: { mail: { pending: 2, dead: 1 }, report: { pending: 0, dead: 1 } } });
    expect(parsed.dead.total).toBe(2);
    const text = await sluiceHere(['status', '--dir', dir, '--type', 'mail']);
    expect(text.stdout).toContain('pending 2, running 0, dead 1');
    expect(text.stdout).toContain(dead);
    expect(text.stdout).not.toMatch(/^\s+report\s/m); // --type names the types counted
  });

  it('retry and cancel one job by id, or every dead job (of a type)', async () => {
    const [deadMail] = (await select<{ id: string }>(conn.db, sql`select id from sluice.jobs where status = 'dead' and type = 'mail'`)).map((r) => r.id);
    expect((await sluiceHere(['retry', deadMail!, '--dir', dir])).stdout).toBe(`retried job ${deadMail} (mail)`);
    expect(await statuses()).toEqual([{ type: 'mail', status: 'pending' }, { type: 'mail', status: 'pending' }, { type: 'mail', status: 'pending' }, { type: 'report', status: 'dead' }]);
    expect((await sluiceHere(['cancel', deadMail!, '--dir', dir])).stdout).toBe(`cancelled job ${deadMail} (mail)`);

    await insert('mail', 'dead');
    expect((await sluiceHere(['retry', '--dead', '--type', 'report', '--dir', dir])).stdout).toBe('retried 1 dead job of type report');
    expect((await sluiceHere(['cancel', '--dead', '--dir', dir])).stdout).toBe('cancelled 1 dead job');
    // Cancelled jobs stay, cancelled, for the result retention.
    expect(await statuses()).toEqual([
      { type: 'mail', status: 'cancelled' }, { type: 'mail', status: 'cancelled' },
      { type: 'mail', status: 'pending' }, { type: 'mail', status: 'pending' }, { type: 'report', status: 'pending' },
    ]);
  });

  it('export prints the jobs of a filter as JSON lines, newest first, and refuses a bad filter in one line', async () => {
    const all = await sluiceHere(['export', '--dir', dir]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((j) => j.id)).toEqual((await select<{ id: string }>(conn.db, sql`select id from sluice.jobs order by id desc`)).map((r) => r.id));
    expect(lines[0]).toMatchObject({ type: expect.any(String), status: expect.any(String), payload: {} });
    const cancelled = await sluiceHere(['export', '--status', 'cancelled', '--type', 'mail', '--dir', dir]);
    expect(cancelled.stdout.trim().split('\n').map((line) => JSON.parse(line).status)).toEqual(['cancelled', 'cancelled']);
    const bad = await sluiceHere(['export', '--from', 'yesterday', '--dir', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^sluice: export filter: .*from/s);
  });

  it('says in one line what is wrong: an unknown job, a job in the wrong state, arguments that do not go together', async () => {
    const pending = (await select<{ id: string }>(conn.db, sql`select id from sluice.jobs limit 1`))[0]!.id;
    const missing = '0190b8c0-0000-7000-8000-000000000000';
    const cases: [string[], string][] = [
      [['retry', missing], `sluice: no job with id ${missing}`],
      [['retry', pending], `sluice: job ${pending} is pending: only dead jobs can be retried`],
      [['cancel'], 'sluice: cancel: give a job id or --dead, not neither'],
      [['retry', pending, '--dead'], 'sluice: retry: give a job id or --dead, not both'],
      [['retry', '--type', 'mail'], 'sluice: retry: give a job id or --dead, not neither'],
    ];
    for (const [args, message] of cases) expect(await sluiceHere([...args, '--dir', dir])).toEqual({ code: 1, stdout: '', stderr: message });
  });
});

describe('the bin\'s one-line failures', () => {
  it('no DATABASE_URL, the init placeholder, an unreachable database: one line on stderr, exit 1', async () => {
    const empty = fixtureDir({});
    const placeholder = fixtureDir({ '.env.local': 'DATABASE_URL=postgres://USER:PASSWORD@HOST/DATABASE\n' });
    const [none, held, down] = await Promise.all([
      runCli(['migrate'], { cwd: empty }),
      runCli(['status'], { cwd: placeholder }),
      runCli(['retry', '--dead'], { cwd: empty, env: { DATABASE_URL: UNREACHABLE } }),
    ]);
    expect(none).toEqual({ code: 1, stdout: '', stderr: 'sluice: DATABASE_URL is not set (in the environment, .env.local or .env): point it at your Postgres\n' });
    expect(held).toEqual({ code: 1, stdout: '', stderr: 'sluice: DATABASE_URL is still the placeholder sluice init wrote to .env.local: put your Postgres connection string there\n' });
    expect(down).toEqual({ code: 1, stdout: '', stderr: 'sluice: cannot reach the database in DATABASE_URL (ECONNREFUSED): is it running, and is the URL right?\n' });
  });
});
