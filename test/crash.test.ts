import { spawn } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { jobRow, waitFor } from './support/sql.js';

const CHILD = new URL('./fixtures/drain-child.ts', import.meta.url).pathname;

/** Runs test/fixtures/drain-child.ts; resolves with its output when it exits or is killed. */
function childDrain(env: Record<string, string>, killOnStart: boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
    if (killOnStart && out.includes('started')) child.kill('SIGKILL');
  });
  return new Promise<{ out: string; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (_code, signal) => resolve({ out, signal })));
}

describe.each(DRIVERS)('crash recovery (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    conn = await freshDatabase(driver);
    env = { DATABASE_URL: conn.url, DRIVER: driver, WS_PROXY: inject('wsProxy') };
  });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs`); });

  const leaseExpired = (id: string) => waitFor('the lease to expire', async () => {
    const row = await jobRow(conn.db, id);
    return row && (row.status !== 'running' || row.lease_left_ms! < 0) ? row : undefined;
  });

  it('a drain killed mid-job leaves the job running; a later drain rescues and runs it', async () => {
    const { id } = await enqueue(conn.db, defineJob({ type: 'crashy', payload: z.object({}), handler: async () => {} }), {});
    const killed = await childDrain(env, true);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.out).toContain('started 1');
    const orphaned = (await jobRow(conn.db, id))!;
    expect(orphaned).toMatchObject({ status: 'running', attempts: 1 });
    expect(orphaned.lease_left_ms).toBeGreaterThan(0);

    await leaseExpired(id);
    const attempts: number[] = [];
    const healthy = defineJob({
      type: 'crashy', payload: z.object({}), backoff: { baseMs: 1, maxMs: 1 },
      handler: async (_, ctx) => { attempts.push(ctx.job.attempt); },
    });
    const first = await drain(conn.db, [healthy], { budgetMs: 5_000 });
    expect(first.rescued).toBe(1);
    await waitFor('the rescued job to run', async () => {
      if (attempts.length === 0) await drain(conn.db, [healthy], { budgetMs: 5_000 });
      return attempts.length > 0 ? true : undefined;
    });
    expect(attempts).toEqual([2]);
    expect(await jobRow(conn.db, id)).toBeUndefined();
  });

  it('a job that kills its drain every time ends dead after maxAttempts', async () => {
    const { id } = await enqueue(conn.db, defineJob({ type: 'crashy', payload: z.object({}), handler: async () => {} }), {}, { maxAttempts: 2 });
    let starts = 0;
    const row = await waitFor('the poison job to go dead', async () => {
      await leaseExpired(id);
      const run = await childDrain({ ...env, MODE: 'suicide' }, false);
      starts += run.out.split('started').length - 1;
      const now = (await jobRow(conn.db, id))!;
      return now.status === 'dead' ? now : undefined;
    }, 60_000);
    expect(starts).toBe(2);
    expect(row).toMatchObject({ status: 'dead', attempts: 2 });
    expect(row.last_error).toContain('lease expired');
  });
});
