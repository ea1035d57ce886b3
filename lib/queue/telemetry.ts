/**
 * OpenTelemetry for Sluice: spans through `@opentelemetry/api` alone, so they cost nothing unless the
 * app registers an SDK (docs/tracing.md). The enqueue's span context travels in the job row as
 * a W3C traceparent (`trace_parent`), and the run's span links back to it.
 */
import {
  context, isSpanContextValid, isValidSpanId, isValidTraceId, SpanStatusCode, trace, type Span, type SpanContext, type SpanKind, type Tracer,
} from '@opentelemetry/api';
import { describeError } from './errors.js';

/** package.json's version (test/telemetry.test.ts keeps the two equal): a constant rather than a read of
 *  package.json at import, which a bundler may have moved away from this file. */
export const SLUICE_VERSION = '0.1.0';

/**
 * Sluice's tracer, asked of the API at each use (once per enqueue call or drain pass, never per job):
 * a tracer kept from before the app registered its SDK, or from an SDK since replaced, would keep
 * answering for the provider it first found.
 */
export function tracer(): Tracer {
  return trace.getTracer('sluice', SLUICE_VERSION);
}

/** A span context as a W3C traceparent header value: `00-<trace id>-<span id>-<flags>`. */
export function formatTraceParent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

// Version 00 exactly: lowercase hex, 32 and 16 digits, two of flags, nothing after (W3C Trace Context).
const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span context a traceparent names (remote), or undefined for anything else: null, a malformed or
 * future-version value, all-zero ids. Never throws: the value comes from a row anyone may have written.
 */
export function parseTraceParent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string' || value.length !== 55) return undefined;
  const m = TRACE_PARENT.exec(value);
  if (!m || !isValidTraceId(m[1]!) || !isValidSpanId(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
}

/** The traceparent to store with a job enqueued under `span`, or undefined when nothing traces (no SDK:
 *  the span is the API's invalid no-op one). A span sampled out still has a context worth linking to. */
export function traceParentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? formatTraceParent(sc) : undefined;
}

/** Marks a span failed: the exception as an event (name, message, stack; never the error's other
 *  properties, as loggable() does for logs) and status ERROR with its description. */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const exception = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : describeError(error);
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
}

/**
 * Runs `work` in a new span, a child of the active context, and ends it; a failure is recorded on it
 * and rethrown. While the span records, `work` runs in its context (spans made inside, such as a
 * database instrumentation's, are its children); otherwise it is called as is, at no extra cost.
 */
export async function inSpan<T>(name: string, kind: SpanKind, work: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { kind });
  try {
    return await (span.isRecording() ? context.with(trace.setSpan(context.active(), span), work, undefined, span) : work(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
