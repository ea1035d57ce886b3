/**
 * The spans of one drain pass (docs/tracing.md): `sluice.drain` around it, `sluice.claim` per
 * claim and `sluice.job <type>` per run, each linked to the span that enqueued its job. A pass asks
 * once whether its drain span records; if not (no SDK, or sampled out) it has no PassTrace and makes
 * no other span, attribute object or context: at tens of thousands of jobs a second that is the point.
 * Parents are given explicitly, never taken from the active context: inside a pass that is whichever
 * job's promise callback happened to start the next job.
 */
import { context, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { DrainSummary, PassSettings } from './pass-types.js';
import type { ClaimedJob, ClaimResult, Outcome } from './queries-drain.js';
import { failSpan, parseTraceParent, tracer } from '../telemetry.js';

export class PassTrace {
  private constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    /** The drain span's context: the parent of every claim and job span. */
    private readonly parent: Context,
  ) {}

  /** The pass's drain span, a child of the active context; null (nothing more to trace) unless it records. */
  static start(s: PassSettings, start: number): PassTrace | null {
    const t = tracer();
    const span = t.startSpan('sluice.drain', { kind: SpanKind.INTERNAL });
    if (!span.isRecording()) {
      span.end();
      return null;
    }
    span.setAttributes({
      'messaging.system': 'sluice',
      'sluice.drain.budget_ms': Math.max(0, s.deadline - start),
      'sluice.drain.concurrency': s.concurrency,
      'sluice.drain.batch_size': s.batchSize,
      ...(Number.isFinite(s.maxJobs) ? { 'sluice.drain.max_jobs': s.maxJobs } : {}),
      ...(s.types ? { 'sluice.drain.types': [...s.types].sort().join(',') } : {}),
    });
    return new PassTrace(t, span, trace.setSpan(context.active(), span));
  }

  /** Runs the pass in the drain span's context (its other statements' spans nest under it). */
  within<T>(pass: () => T): T {
    return context.with(this.parent, pass);
  }

  /** Ends the drain span with the pass's summary, or its failure. */
  end(summary: DrainSummary | undefined, error?: unknown): void {
    const s = summary;
    if (s) {
      this.span.setAttributes({
        'sluice.drain.claimed': s.claimed, 'sluice.drain.completed': s.completed, 'sluice.drain.retried': s.retried,
        'sluice.drain.dead': s.dead, 'sluice.drain.rescued': s.rescued, 'sluice.drain.released': s.released,
        'sluice.drain.handed_back': s.handedBack,
        'sluice.drain.stopped_by': s.stoppedBy,
      });
    } else failSpan(this.span, error);
    this.span.end();
  }

  /** A claim's span; `statement` runs in its context (a database instrumentation's span nests under it). */
  claim(limit: number, outcomes: number, statement: () => Promise<ClaimResult>): Promise<ClaimResult> {
    const span = this.tracer.startSpan('sluice.claim', {
      kind: SpanKind.INTERNAL, // a database instrumentation's own span below it is the client's
      attributes: { 'sluice.claim.limit': limit, 'sluice.claim.outcomes': outcomes },
    }, this.parent);
    return context.with(trace.setSpan(this.parent, span), statement).then((result) => {
      span.setAttributes({
        'sluice.claim.jobs': result.jobs.length, 'sluice.claim.written': result.written, 'sluice.claim.rescued': result.expired.length,
      });
      span.end();
      return result;
    }, (error: unknown) => {
      failSpan(span, error);
      span.end();
      throw error;
    });
  }

  /**
   * A job's run as a span, a child of the drain span linked to its enqueue's span (the row's
   * trace_parent); `run` (the handler) runs in its context, so spans the handler makes are its children.
   */
  job(job: ClaimedJob, run: () => Promise<Outcome>): Promise<Outcome> {
    const enqueued = parseTraceParent(job.trace_parent);
    const span = this.tracer.startSpan(`sluice.job ${job.type}`, {
      kind: SpanKind.CONSUMER,
      links: enqueued ? [{ context: enqueued }] : [],
      attributes: {
        'messaging.system': 'sluice', 'messaging.operation.type': 'process',
        'sluice.job.id': job.id, 'sluice.job.type': job.type, 'sluice.job.attempt': job.attempts,
      },
    }, this.parent);
    // runJob never rejects: every failure is an outcome.
    return context.with(trace.setSpan(this.parent, span), run).then((outcome) => {
      span.setAttribute('sluice.job.outcome', outcome.kind);
      // Which step did not fit, and its estimate against the time left.
      if (outcome.handedBack) span.setAttribute('sluice.job.handed_back', outcome.error ?? '');
      if (outcome.kind === 'retry' || outcome.kind === 'dead') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? outcome.kind });
      span.end();
      return outcome;
    });
  }
}
