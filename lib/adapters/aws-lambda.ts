/** @module sluice/aws-lambda */
import type { Context as LambdaContext, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { z } from 'zod';
import type { Sluice } from '../sluice.js';
import { log } from '../queue/log.js';
import { drainStartSchema, resolveRuntime } from '../wake/runtime.js';
import type { FetchApp } from './web.js';

/** When this invocation must end: now plus what Lambda says is left. */
const lambdaDeadline = (context: Pick<LambdaContext, 'getRemainingTimeInMillis'>) => Date.now() + context.getRemainingTimeInMillis();

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: LambdaContext) => Promise<APIGatewayProxyStructuredResultV2>;

/** Lambda freezes an instance once it has answered: work "after the response" (a kick's Invoke) is awaited before, this long at most. */
const AFTER_RESPONSE_WAIT_MS = 2_000;

/**
 * A Function URL / API Gateway HTTP API (payload format 2.0) handler for a Sluice app: hono/aws-lambda
 * turns the event into a Request (base64 bodies, cookies, query) and the Response back into the result;
 * the drain routes stop DRAIN_SAFETY_MARGIN_MS before context.getRemainingTimeInMillis() runs out.
 * Nothing runs after a Lambda answers, so a kick is an asynchronous Invoke of SLUICE_DRAIN_FUNCTION,
 * sent before the answer (one short AWS API call, bounded by AFTER_RESPONSE_WAIT_MS).
 */
export function lambdaHttpHandler(app: FetchApp): LambdaHttpHandler {
  const bridge = {
    fetch: async (request: Request, env: { lambdaContext?: LambdaContext; requestContext?: { http?: { sourceIp?: string } } }) => {
      const context = env.lambdaContext;
      const pending: Promise<unknown>[] = [];
      const response = await app.fetch(request, {
        deadline: () => (context ? lambdaDeadline(context) : undefined),
        waitUntil: (work) => void pending.push(work),
        runsAfterResponse: false,
        // The caller as AWS saw it; X-Forwarded-For there starts with whatever the client sent.
        clientAddress: env.requestContext?.http?.sourceIp,
      });
      if (pending.length > 0) await untilSettled(pending, AFTER_RESPONSE_WAIT_MS);
      return response;
    },
  };
  // handle() only calls app.fetch(request, { event, requestContext, lambdaContext }).
  return handle(bridge as unknown as Hono) as unknown as LambdaHttpHandler;
}

/** An EventBridge scheduled event (a Rules "Scheduled Event", or a Scheduler schedule's input), or a drain started by Sluice. */
export type ScheduledEvent = Record<string, unknown> | null | undefined;

/** The `sluice` field of an event that a kick, fan-out or continuation sent (lib/wake/runtime.ts lambdaDrainStarter). */
const startedDrain = z.object({ sluice: drainStartSchema });

/**
 * The drain function: Vercel Cron's part when EventBridge (Scheduler or Rules, e.g. rate(1 minute))
 * invokes it, a kick's, fan-out's or continuation's when Sluice does (the event's `sluice` field). It
 * drains until DRAIN_SAFETY_MARGIN_MS before the invocation's time runs out and returns (and logs) the
 * summary. Any other event is a tick, so the schedule's input does not matter.
 */
export function lambdaScheduledHandler(sluice: Sluice) {
  return async (event: ScheduledEvent, context: Pick<LambdaContext, 'getRemainingTimeInMillis'>) => {
    const s = sluice.settings();
    const started = startedDrain.safeParse(event);
    const start = started.success ? started.data.sluice : { reason: 'tick' as const };
    const summary = await sluice.wake({
      ...start,
      deadline: lambdaDeadline(context) - s.DRAIN_SAFETY_MARGIN_MS,
      runtime: resolveRuntime(s, { runsAfterResponse: false }),
    });
    log.info('drain', { reason: start.reason, ...summary });
    return summary;
  };
}

/** Waits for every promise to settle, `ms` at most. */
async function untilSettled(work: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([Promise.allSettled(work), late]);
  clearTimeout(timer);
}

/**
 * Closes the instance's pool when the runtime says it is shutting down (Lambda sends SIGTERM to
 * functions with an extension registered; elsewhere the frozen instance's connections simply time out).
 */
export function closeOnShutdown(sluice: Sluice): void {
  process.once('SIGTERM', () => {
    void sluice.close().finally(() => process.exit(0));
  });
}
