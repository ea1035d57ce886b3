import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, queueStats } from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';

describe.each(DRIVERS)('smoke (%s)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });

  it('enqueues and drains', async () => {
    const seen: number[] = [];
    const job = defineJob({ type: 'smoke', payload: z.object({ n: z.number() }), handler: async (p) => { seen.push(p.n); } });
    for (let n = 0; n < 5; n++) await enqueue(conn.db, job, { n });
    expect((await queueStats(conn.db)).pending).toBe(5);
    const summary = await drain(conn.db, [job], { budgetMs: 5000 });
    console.log(summary);
    expect(summary.completed).toBe(5);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    const left = await conn.db.execute(sql`select count(*)::int as n from jobs`);
    expect((left as any).rows[0].n).toBe(0);
  });
});
