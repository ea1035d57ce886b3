// Type tests (vitest's typecheck mode runs tsc on them): the instance's calls are checked against its jobs.
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createSluice, defineJob, defineSchedule, type Db, type EnqueueResult, type JobPayload, type JobResult, type JobResultStatus, type Sluice } from '../lib/index.js';

const welcome = defineJob({
  type: 'send-welcome-email',
  payload: z.object({ userId: z.string(), locale: z.enum(['en', 'fr']).default('en') }),
  handler: async (payload) => {
    expectTypeOf(payload.locale).toEqualTypeOf<'en' | 'fr'>(); // the handler sees the schema's output
  },
});
const render = defineJob({
  type: 'render-pdf',
  payload: z.object({ invoiceId: z.number() }),
  handler: async ({ invoiceId }) => ({ url: `/invoices/${invoiceId}.pdf`, pages: 2 }),
});
const hello = defineJob({ type: 'hello-world', payload: z.object({ name: z.string().optional() }), handler: async () => {} });
const sluice = createSluice({ jobs: [welcome, render, hello], db: {} as never });

describe('defineJob', () => {
  it('keeps the type name as a literal, and the payload and result types', () => {
    expectTypeOf(welcome.type).toEqualTypeOf<'send-welcome-email'>();
    expectTypeOf<JobPayload<typeof welcome>>().toEqualTypeOf<{ userId: string; locale?: 'en' | 'fr' | undefined }>();
    expectTypeOf<JobResult<typeof render>>().toEqualTypeOf<{ url: string; pages: number }>();
    expectTypeOf<JobResult<typeof welcome>>().toEqualTypeOf<void>();
  });
});

describe('sluice.enqueue', () => {
  it('takes a defined type name or definition with its payload (the schema input: defaults optional)', () => {
    expectTypeOf(sluice.enqueue('send-welcome-email', { userId: 'u1' })).resolves.toEqualTypeOf<EnqueueResult>();
    expectTypeOf(sluice.enqueue(render, { invoiceId: 7 }, { delayMs: 1_000 })).resolves.toHaveProperty('id');
    expectTypeOf(sluice.enqueue('hello-world', {})).resolves.toHaveProperty('duplicate');
  });

  it('refuses a wrong payload, an unknown type name and a job of another instance', () => {
    // @ts-expect-error: userId must be a string
    void sluice.enqueue('send-welcome-email', { userId: 1 });
    // @ts-expect-error: a key the schema does not have
    void sluice.enqueue(render, { invoiceId: 7, extra: true });
    // @ts-expect-error: render-pdf's payload given to send-welcome-email
    void sluice.enqueue('send-welcome-email', { invoiceId: 7 });
    // @ts-expect-error: a typo of a type name
    void sluice.enqueue('send-welcome-emial', { userId: 'u1' });
    // @ts-expect-error: a number is not a job
    void sluice.enqueue(42, {});
    const stranger = defineJob({ type: 'stranger', payload: z.object({}), handler: async () => {} });
    // @ts-expect-error: not one of this instance's jobs
    void sluice.enqueue(stranger, {});
    // @ts-expect-error: an option that does not exist
    void sluice.enqueue('hello-world', {}, { delay: 5 });
  });

  it('types every enqueueMany item by its own job', () => {
    void sluice.enqueueMany([
      { job: 'send-welcome-email', payload: { userId: 'u1' } },
      { job: render, payload: { invoiceId: 1 }, priority: 5 },
    ]);
    // @ts-expect-error: the second item's payload is another job's
    void sluice.enqueueMany([{ job: 'hello-world', payload: {} }, { job: 'render-pdf', payload: { userId: 'u1' } }]);
    // @ts-expect-error: an unknown type name
    void sluice.enqueueMany([{ job: 'nope', payload: {} }]);
  });
});

describe('schedules and the instance type', () => {
  it('accepts schedules of its own jobs only, with their payloads', () => {
    const daily = defineSchedule({ name: 'daily-hello', cron: '0 8 * * *', job: hello, payload: { name: 'team' } });
    createSluice({ jobs: [hello], schedules: [daily], db: {} as never });
    // @ts-expect-error: a schedule of a job the instance does not define
    createSluice({ jobs: [welcome], schedules: [daily], db: {} as never });
    // @ts-expect-error: a payload of the wrong shape
    defineSchedule({ name: 'bad', cron: '0 8 * * *', job: render, payload: { invoiceId: 'seven' } });
  });

  it('is assignable to the untyped Sluice that helpers and adapters take', () => {
    const takesAny = (instance: Sluice) => instance.kick();
    expectTypeOf(takesAny).parameter(0).toEqualTypeOf<Sluice>();
    void takesAny(sluice);
    // Untyped, any name and payload compile (and are checked by zod when called).
    const loose: Sluice = sluice;
    void loose.enqueue('anything', { at: 'all' });
  });
});

describe('results', () => {
  const charge = defineJob({
    type: 'charge-card',
    payload: z.object({ orderId: z.string() }),
    result: z.object({ chargeId: z.string(), cents: z.number().default(0) }),
    handler: async ({ orderId }) => ({ chargeId: `ch_${orderId}` }), // the schema's input: cents may be left out
  });
  const shop = createSluice({ jobs: [charge, render], db: {} as never });

  it('a result schema types the job\'s result as its output', () => {
    expectTypeOf<JobResult<typeof charge>>().toEqualTypeOf<{ chargeId: string; cents: number }>();
  });

  it('a handler that does not resolve to the result schema\'s input does not compile', () => {
    // @ts-expect-error: chargeId must be a string
    defineJob({ type: 'bad-result', payload: z.object({}), result: z.object({ chargeId: z.string() }), handler: async () => ({ chargeId: 1 }) });
    // @ts-expect-error: it must resolve to something
    defineJob({ type: 'no-result', payload: z.object({}), result: z.object({ chargeId: z.string() }), handler: async () => {} });
  });

  it('result(id) answers unknown for an id alone; with its job, the job\'s result type', async () => {
    const plain = await shop.result('id', { timeoutMs: 1_000 });
    if (plain.status === 'completed') expectTypeOf(plain.result).toEqualTypeOf<unknown>();
    const typed = await shop.result('id', { job: charge, timeoutMs: 5_000 });
    expectTypeOf(typed).toEqualTypeOf<JobResultStatus<{ chargeId: string; cents: number }>>();
    if (typed.status === 'completed') expectTypeOf(typed.result.chargeId).toEqualTypeOf<string>();
    if (typed.status === 'dead') expectTypeOf(typed.error).toEqualTypeOf<string | null>();
    // @ts-expect-error: a job of another instance
    void shop.result('id', { job: welcome });
  });

  it('ctx.progress takes any value and resolves to nothing', () => {
    defineJob({
      type: 'reports', payload: z.object({}),
      handler: async (_, ctx) => {
        expectTypeOf(ctx.progress({ pct: 50 })).toEqualTypeOf<Promise<void>>();
      },
    });
  });
});

describe('child jobs and events', () => {
  const charge = defineJob({
    type: 'charge', payload: z.object({ orderId: z.string(), cents: z.number().int() }),
    result: z.object({ chargeId: z.string() }), handler: async ({ orderId }) => ({ chargeId: orderId }),
  });

  it('ctx.invoke checks the child\'s payload and resolves to its result; waitForEvent to its data or null', () => {
    defineJob({
      type: 'fulfil', payload: z.object({ orderId: z.string() }),
      handler: async ({ orderId }, ctx) => {
        expectTypeOf(ctx.invoke('charge', charge, { orderId, cents: 500 })).resolves.toEqualTypeOf<{ chargeId: string }>();
        expectTypeOf(ctx.invoke('render', render, { invoiceId: 1 })).resolves.toEqualTypeOf<{ url: string; pages: number }>();
        // @ts-expect-error: cents must be a number
        void ctx.invoke('charge', charge, { orderId, cents: '500' });
        // @ts-expect-error: a child's options have no idempotency key (it is enqueued once per name anyway)
        void ctx.invoke('charge', charge, { orderId, cents: 5 }, { idempotencyKey: 'k' });
        expectTypeOf(ctx.waitForEvent<{ by: string }>('approval', { event: 'order.approved', key: orderId, timeoutMs: 1_000 })).resolves.toEqualTypeOf<{ by: string } | null>();
        // @ts-expect-error: a wait needs its timeout
        void ctx.waitForEvent('approval', { event: 'order.approved' });
      },
    });
  });

  it('sendEvent takes a name, a key and any data, in a transaction or not', () => {
    const shop = createSluice({ jobs: [charge], db: {} as never });
    expectTypeOf(shop.sendEvent('order.approved', { key: 'o1', data: { by: 'ada' } })).resolves.toEqualTypeOf<{ id: string; delivered: number }>();
    expectTypeOf(shop.sendEvent).parameter(2).toEqualTypeOf<{ tx?: Db } | undefined>();
  });
});
