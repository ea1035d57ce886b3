import type { Context as LambdaContext, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import type { Sluice } from '../sluice.js';
import type { FetchApp } from './web.js';

/** When this invocation must end: now plus what Lambda says is left. */
const lambdaDeadline = (context: Pick<LambdaContext, 'getRemainingTimeInMillis'>) => Date.now() + context.getRemainingTimeInMillis();

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: LambdaContext) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * A Function URL / API Gateway HTTP API (payload format 2.0) handler for a Sluice app: hono/aws-lambda
 * turns the event into a Request (base64 bodies, cookies, query) and the Response back into the result;
 * the drain routes stop DRAIN_SAFETY_MARGIN_MS before context.getRemainingTimeInMillis() runs out.
 */
export function lambdaHttpHandler(app: FetchApp): LambdaHttpHandler {
  const bridge = {
    fetch: (request: Request, env: { lambdaContext?: LambdaContext }) => {
      const context = env.lambdaContext;
      return app.fetch(request, { deadline: () => (context ? lambdaDeadline(context) : undefined) });
    },
  };
  // handle() only calls app.fetch(request, { event, requestContext, lambdaContext }).
  return handle(bridge as unknown as Hono) as unknown as LambdaHttpHandler;
}

/** An EventBridge scheduled event: a Rules "Scheduled Event", or whatever input a Scheduler schedule sends. */
export type ScheduledEvent = Record<string, unknown> | null | undefined;

/**
 * The scheduled drain (EventBridge Scheduler or Rules, e.g. rate(1 minute)): Vercel Cron's part. It drains
 * until DRAIN_SAFETY_MARGIN_MS before the invocation's time runs out, gives back what it claimed but
 * did not start, and returns (and logs) the summary. The event's content does not matter.
 */
export function lambdaScheduledHandler(sluice: Sluice) {
  return async (_event: ScheduledEvent, context: Pick<LambdaContext, 'getRemainingTimeInMillis'>) => {
    const summary = await sluice.drain({ deadline: lambdaDeadline(context) - sluice.settings().DRAIN_SAFETY_MARGIN_MS });
    console.log(`[sluice] scheduled drain ${JSON.stringify(summary)}`);
    return summary;
  };
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
