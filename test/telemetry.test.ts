import { readFileSync } from 'node:fs';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, enqueueMany } from '../lib/queue/index.js';
import { formatTraceParent, parseTraceParent, SLUICE_VERSION } from '../lib/queue/telemetry.js';
import { freshDatabase } from './support/db.js';
import { select } from './support/sql.js';

const n = z.object({ n: z.number() });
const traceParentOf = async (db: Awaited<ReturnType<typeof freshDatabase>>['db'], id: string) =>
  (await select<{ trace_parent: string | null }>(db, sql`select trace_parent from sluice.jobs where id = ${id}`))[0]?.trace_parent;

describe('traceparent', () => {
  const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

  it('formats a span context and parses it back', () => {
    expect(formatTraceParent(sc)).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(parseTraceParent(formatTraceParent(sc))).toEqual({ ...sc, isRemote: true });
    expect(parseTraceParent(formatTraceParent({ ...sc, traceFlags: 0 }))?.traceFlags).toBe(0);
  });

  it('answers undefined for anything malformed, never throws', () => {
    const good = formatTraceParent(sc);
    for (const bad of [
      null, undefined, 42, {}, '', good.toUpperCase(), `${good}-extra`, good.slice(0, -1), good.replace(/^00/, '01'), good.replace(/^00/, 'ff'),
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01', '00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01',
      ' 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0',
    ]) {
      expect(parseTraceParent(bad), String(bad)).toBeUndefined();
    }
  });

  it("names Sluice's version as package.json does", () => {
    expect(SLUICE_VERSION).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });
});

describe('spans', () => {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { conn = await freshDatabase('pg'); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => { await conn.db.execute(sql`truncate sluice.jobs`); });

  it('without a registered SDK: no trace_parent in the row, and the job still runs', async () => {
    let ran = 0;
    const job = defineJob({ type: 'tel-plain', payload: n, handler: async () => { ran++; } });
    const { id } = await enqueue(conn.db, job, { n: 1 });
    expect(await traceParentOf(conn.db, id)).toBeNull();
    expect(await drain(conn.db, [job], { budgetMs: 5_000 })).toMatchObject({ claimed: 1, completed: 1 });
    expect(ran).toBe(1);
  });

  describe('with the SDK registered (in-memory exporter)', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const app = () => trace.getTracer('test-app');
    beforeAll(() => provider.register());
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });
    beforeEach(() => exporter.reset());

    const finished = async () => {
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    };
    const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
    const one = (spans: ReadableSpan[], name: string) => {
      const found = named(spans, name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    /** Runs `work` inside an active "request" span, as an instrumented HTTP server would. */
    const inRequest = <T>(work: (span: Span) => Promise<T>) =>
      app().startActiveSpan('POST /signup', async (span) => {
        try {
          return await work(span);
        } finally {
          span.end();
        }
      });

    it("links a job's run to the request that enqueued it; the handler's spans are the run's children", async () => {
      const job = defineJob({
        type: 'tel-ok', payload: n,
        handler: async () => { app().startSpan('handler work').end(); },
      });
      const { request, id } = await inRequest(async (span) => ({ request: span, ...(await enqueue(conn.db, job, { n: 1 })) }));

      const enqueued = one(await finished(), 'sluice.enqueue');
      expect(enqueued.kind).toBe(SpanKind.PRODUCER);
      expect(enqueued.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(enqueued.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(enqueued.attributes).toMatchObject({
        'messaging.system': 'sluice', 'sluice.job.count': 1, 'sluice.job.types': 'tel-ok', 'sluice.job.id': id,
      });
      expect(await traceParentOf(conn.db, id)).toBe(formatTraceParent(enqueued.spanContext()));

      exporter.reset();
      expect(await drain(conn.db, [job], { budgetMs: 5_000 })).toMatchObject({ claimed: 1, completed: 1 });
      const spans = await finished();
      const drained = one(spans, 'sluice.drain');
      expect(drained.parentSpanContext).toBeUndefined(); // no request around this drain: a trace of its own
      expect(drained.attributes).toMatchObject({
        'sluice.drain.claimed': 1, 'sluice.drain.completed': 1, 'sluice.drain.dead': 0, 'sluice.drain.stopped_by': 'empty',
        'sluice.drain.concurrency': 10,
      });
      expect(drained.attributes['sluice.drain.budget_ms']).toBeGreaterThan(4_000);
      const claims = named(spans, 'sluice.claim');
      expect(claims.length).toBeGreaterThanOrEqual(2); // the claim that took the job, the empty one that wrote its outcome
      for (const c of claims) expect(c.parentSpanContext?.spanId).toBe(drained.spanContext().spanId);
      expect(claims.reduce((s, c) => s + (c.attributes['sluice.claim.jobs'] as number), 0)).toBe(1);
      expect(claims.reduce((s, c) => s + (c.attributes['sluice.claim.written'] as number), 0)).toBe(1);

      const run = one(spans, 'sluice.job tel-ok');
      expect(run.kind).toBe(SpanKind.CONSUMER);
      expect(run.parentSpanContext?.spanId).toBe(drained.spanContext().spanId);
      expect(run.attributes).toMatchObject({
        'sluice.job.id': id, 'sluice.job.type': 'tel-ok', 'sluice.job.attempt': 1, 'sluice.job.outcome': 'done',
      });
      expect(run.status.code).toBe(SpanStatusCode.UNSET);
      expect(run.links).toHaveLength(1);
      expect(run.links[0]!.context).toMatchObject({
        traceId: enqueued.spanContext().traceId, spanId: enqueued.spanContext().spanId, traceFlags: enqueued.spanContext().traceFlags,
      });
      const work = one(spans, 'handler work');
      expect(work.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    });

    it('marks failed runs ERROR with outcome retry or dead', async () => {
      const flaky = defineJob({ type: 'tel-flaky', payload: n, maxAttempts: 2, handler: async () => { throw new Error('upstream said no'); } });
      const doomed = defineJob({ type: 'tel-doomed', payload: n, maxAttempts: 1, handler: async () => { throw new Error('never works'); } });
      await enqueueMany(conn.db, [{ job: flaky, payload: { n: 1 } }, { job: doomed, payload: { n: 2 } }]);
      const enqueued = one(await finished(), 'sluice.enqueue');
      expect(enqueued.attributes).toMatchObject({ 'sluice.job.count': 2, 'sluice.job.types': 'tel-doomed,tel-flaky' });
      expect(enqueued.attributes['sluice.job.id']).toBeUndefined();
      expect(enqueued.parentSpanContext).toBeUndefined();

      expect(await drain(conn.db, [flaky, doomed], { budgetMs: 5_000 })).toMatchObject({ claimed: 2, retried: 1, dead: 1 });
      const spans = await finished();
      const retried = one(spans, 'sluice.job tel-flaky');
      expect(retried.attributes['sluice.job.outcome']).toBe('retry');
      expect(retried.status).toEqual({ code: SpanStatusCode.ERROR, message: 'attempt 1/2: Error: upstream said no' });
      const dead = one(spans, 'sluice.job tel-doomed');
      expect(dead.attributes['sluice.job.outcome']).toBe('dead');
      expect(dead.status.code).toBe(SpanStatusCode.ERROR);
      // Both enqueued by one call: both runs link to its span.
      for (const s of [retried, dead]) expect(s.links[0]!.context.spanId).toBe(enqueued.spanContext().spanId);
      expect(one(spans, 'sluice.drain').attributes).toMatchObject({ 'sluice.drain.retried': 1, 'sluice.drain.dead': 1 });
    });

    it('records a failed enqueue on its span and rethrows', async () => {
      const job = defineJob({ type: 'tel-strict', payload: n, handler: async () => {} });
      // @ts-expect-error: the wrong payload on purpose, for the run-time check
      await expect(enqueue(conn.db, job, { n: 'one' })).rejects.toThrow(/invalid payload/);
      const span = one(await finished(), 'sluice.enqueue');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
    });

    it("a debounced enqueue that replaces a pending job moves the job's link to itself", async () => {
      const job = defineJob({ type: 'tel-debounced', payload: n, handler: async () => {} });
      const debounce = { key: 'k', windowMs: 60_000 };
      const first = await inRequest(() => enqueue(conn.db, job, { n: 1 }, { debounce }));
      const second = await inRequest(() => enqueue(conn.db, job, { n: 2 }, { debounce }));
      expect(second).toEqual({ id: first.id, duplicate: true });
      const [a, b] = named(await finished(), 'sluice.enqueue');
      expect(a!.spanContext().spanId).not.toBe(b!.spanContext().spanId);
      expect(await traceParentOf(conn.db, first.id)).toBe(formatTraceParent(b!.spanContext()));
    });
  });
});
