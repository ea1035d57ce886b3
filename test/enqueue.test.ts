import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineJob, enqueue, enqueueMany, jobRegistry, PayloadTooLargeError, UnknownJobTypeError, ValidationError,
} from '../lib/queue/index.js';
import { DRIVERS, freshDatabase } from './support/db.js';
import { countJobs, jobRow, select } from './support/sql.js';

const email = defineJob({
  type: 'enqueue-test-email',
  payload: z.object({ to: z.email(), subject: z.string().max(200) }),
  priority: 3,
  maxAttempts: 7,
  handler: async () => {},
});
const ok = { to: 'a@example.com', subject: 'hi' };
/** A type name resolves only against the registry the caller passes (createSluice passes its own). */
const registry = { jobs: jobRegistry([email]) };

describe.each(DRIVERS)('enqueue (%s driver)', (driver) => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase(driver); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs`); });

  it('writes a pending job with the type defaults, by definition or by type name', async () => {
    const a = await enqueue(conn.db, email, ok);
    const b = await enqueue(conn.db, 'enqueue-test-email', ok, { priority: 9, maxAttempts: 2 }, registry);
    expect(a.duplicate).toBe(false);
    const rowA = await jobRow(conn.db, a.id);
    expect(rowA).toMatchObject({ status: 'pending', attempts: 0, max_attempts: 7, priority: 3, payload: ok });
    expect(rowA!.due_in_ms).toBeLessThanOrEqual(0);
    expect(await jobRow(conn.db, b.id)).toMatchObject({ max_attempts: 2, priority: 9 });
  });

  it('schedules with delayMs or runAt', async () => {
    const delayed = await enqueue(conn.db, email, ok, { delayMs: 60_000 });
    const at = await enqueue(conn.db, email, ok, { runAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await jobRow(conn.db, delayed.id))!.due_in_ms).toBeGreaterThan(50_000);
    expect((await jobRow(conn.db, at.id))!.due_in_ms).toBeGreaterThan(3_500_000);
  });

  it('leaves no job when the caller\'s transaction rolls back, and one when it commits', async () => {
    await expect(
      conn.db.transaction(async (tx) => {
        await enqueue(tx, email, ok);
        throw new Error('business insert failed');
      }),
    ).rejects.toThrow('business insert failed');
    expect(await countJobs(conn.db)).toBe(0);
    await conn.db.transaction(async (tx) => {
      await enqueueMany(tx, [{ job: email, payload: ok }, { job: email, payload: ok }]);
    });
    expect(await countJobs(conn.db)).toBe(2);
  });

  it('returns the existing job for a duplicate idempotency key, also when 20 enqueues race', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => enqueue(conn.db, email, ok, { idempotencyKey: 'welcome:1' })),
    );
    expect(await countJobs(conn.db)).toBe(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const again = await enqueue(conn.db, email, ok, { idempotencyKey: 'welcome:1' });
    expect(again).toEqual({ id: results[0]!.id, duplicate: true });
  });

  it('scopes idempotency keys to the job type: the same key on two types is two jobs', async () => {
    const invoice = defineJob({ type: 'enqueue-test-invoice', payload: z.object({ order: z.number() }), handler: async () => {} });
    const mail = await enqueue(conn.db, email, ok, { idempotencyKey: 'order:42' });
    const bill = await enqueue(conn.db, invoice, { order: 42 }, { idempotencyKey: 'order:42' });
    expect(bill.duplicate).toBe(false);
    expect(bill.id).not.toBe(mail.id);
    // Within a type the key still holds, in a bulk too, and each type's duplicate answers its own job.
    const again = await enqueueMany(conn.db, [
      { job: invoice, payload: { order: 42 }, idempotencyKey: 'order:42' },
      { job: email, payload: ok, idempotencyKey: 'order:42' },
      { job: invoice, payload: { order: 43 }, idempotencyKey: 'order:43' },
      { job: email, payload: ok, idempotencyKey: 'order:43' },
    ]);
    expect(again.duplicate).toEqual([true, true, false, false]);
    expect(again.ids.slice(0, 2)).toEqual([bill.id, mail.id]);
    expect(new Set(again.ids).size).toBe(4);
  });

  it('enqueueMany inserts in order and reports duplicates per item', async () => {
    const first = await enqueue(conn.db, email, ok, { idempotencyKey: 'k1' });
    const many = await enqueueMany(conn.db, [
      { job: email, payload: { to: 'b@example.com', subject: '1' } },
      { job: email, payload: ok, idempotencyKey: 'k1' },
      { job: 'enqueue-test-email', payload: ok, idempotencyKey: 'k2' },
      { job: email, payload: ok, idempotencyKey: 'k2' },
    ], registry);
    expect(many.duplicate).toEqual([false, true, false, true]);
    expect(many.ids[1]).toBe(first.id);
    expect(many.ids[3]).toBe(many.ids[2]);
    expect(await countJobs(conn.db)).toBe(3);
    expect(await enqueueMany(conn.db, [])).toEqual({ ids: [], duplicate: [] });
  });

  it('rejects bad input with a typed error and inserts nothing', async () => {
    const bad = await Promise.allSettled([
      enqueue(conn.db, email, { to: 'not an email', subject: 'hi' }),
      enqueue(conn.db, 'no-such-type', ok, {}, registry),
      enqueue(conn.db, 'enqueue-test-email', ok),
      enqueue(conn.db, email, ok, { delayMs: -1 }),
      enqueue(conn.db, email, ok, { delayMs: 1, runAt: new Date() }),
      enqueue(conn.db, email, ok, { maxAttempts: 0 }),
      enqueue(conn.db, email, ok, { bogus: true } as never),
      enqueue(conn.db, email, { to: 'a@example.com', subject: 'x'.repeat(300_000) }),
      enqueueMany(conn.db, [{ job: email, payload: ok }, { job: email, payload: { to: 1 } }]),
    ]);
    const errors = bad.map((r) => (r.status === 'rejected' ? r.reason : r.value));
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect((errors[0] as ValidationError).issues[0]!.path).toEqual(['to']);
    expect(errors[1]).toBeInstanceOf(UnknownJobTypeError);
    expect((errors[1] as UnknownJobTypeError).known).toContain('enqueue-test-email');
    // Without a registry no type name resolves: no module-global registry is shared between instances.
    expect(errors[2]).toMatchObject({ code: 'unknown_job_type', known: [] });
    for (const i of [3, 4, 5, 6]) expect(errors[i]).toBeInstanceOf(ValidationError);
    // the schema caps subject at 200 chars, so an oversized payload fails validation first...
    expect(errors[7]).toBeInstanceOf(ValidationError);
    expect((errors[8] as Error).message).toContain('jobs[1]');
    expect(await countJobs(conn.db)).toBe(0);
  });

  it('rejects a payload over the size limit with PayloadTooLargeError', async () => {
    const blob = defineJob({ type: 'enqueue-test-blob', payload: z.object({ data: z.string() }), handler: async () => {} });
    const error = await enqueue(conn.db, blob, { data: 'x'.repeat(300 * 1024) }).catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.limit).toBe(256 * 1024);
    // Counted in UTF-8 bytes, not characters: 90,000 euro signs are 270,000 bytes.
    const euros = await enqueue(conn.db, blob, { data: '€'.repeat(90_000) }).catch((e) => e);
    expect(euros).toBeInstanceOf(PayloadTooLargeError);
    expect(euros.bytes).toBe(270_000 + '{"data":""}'.length);
    expect(await countJobs(conn.db)).toBe(0);
    await enqueue(conn.db, blob, { data: '€'.repeat(80_000) }); // 240,011 bytes: under the limit
    expect(await countJobs(conn.db)).toBe(1);
  });

  it('reports a database error without echoing the payload', async () => {
    await conn.db.execute(sql`alter table sluice.jobs rename to jobs_away`);
    try {
      const error = await enqueue(conn.db, email, { to: 'secret-person@example.com', subject: 'x' }).catch((e) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String(error.message)).toMatch(/jobs/);
      expect(`${error.message} ${error.stack}`).not.toContain('secret-person');
    } finally {
      await conn.db.execute(sql`alter table sluice.jobs_away rename to jobs`);
    }
  });

  it('stores the parsed payload (zod defaults and stripping applied)', async () => {
    const withDefault = defineJob({
      type: 'enqueue-test-defaults',
      payload: z.object({ n: z.number().default(5) }),
      handler: async () => {},
    });
    // @ts-expect-error: a key the schema does not know (a compile error; at run time zod strips it)
    const { id } = await enqueue(conn.db, withDefault, { extra: 'dropped' });
    const [row] = await select<{ payload: unknown }>(conn.db, sql`select payload from sluice.jobs where id = ${id}`);
    expect(row!.payload).toEqual({ n: 5 });
  });
});

describe('enqueue input Postgres cannot store', () => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase('pg'); });
  afterAll(async () => { await conn?.close(); });

  it('rejects NUL characters, lone surrogates and years outside 1-9999 with a ValidationError, inserting nothing', async () => {
    const free = defineJob({ type: 'enqueue-test-free', payload: z.object({ s: z.string() }), handler: async () => {} });
    for (const s of ['a\0b', '\ud800', 'x\udc00y']) {
      await expect(enqueue(conn.db, free, { s })).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(enqueue(conn.db, free, { s: 'ok' }, { runAt: '0000-01-01T00:00:00Z' })).rejects.toBeInstanceOf(ValidationError);
    await expect(enqueue(conn.db, free, { s: 'ok' }, { idempotencyKey: 'k\0' })).rejects.toBeInstanceOf(ValidationError);
    await expect(enqueue(conn.db, free, { s: 'ok' }, { idempotencyKey: 'k\ud800' })).rejects.toBeInstanceOf(ValidationError);
    expect(await countJobs(conn.db)).toBe(0);
    // ...while text that merely looks like those escapes, and real emoji pairs, are fine.
    const fine = ['\\u0000', '\\\\\\u0000'.slice(1), '😀', 'back\\slash'];
    for (const s of fine) await enqueue(conn.db, free, { s });
    const stored = await select<{ s: string }>(conn.db, sql`select payload->>'s' as s from sluice.jobs order by id`);
    expect(stored.map((r) => r.s)).toEqual(fine);
  });
});
