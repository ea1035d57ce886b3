/**
 * This repository's app on AWS Lambda: `http` for the Function URL (or an API Gateway HTTP API,
 * payload format 2.0) and `scheduled` for the EventBridge schedule that drains every minute. Bundled
 * by esbuild (CDK's NodejsFunction, deploy/aws/stack.ts); migrations run before deploy, not here.
 */
import { closeOnShutdown, lambdaHttpHandler, lambdaScheduledHandler } from '../../lib/adapters/aws-lambda.js';
import { appOptions } from '../../lib/app/sluice.js';
import { DRAIN_DEFAULTS } from '../../lib/queue/index.js';
import { createSluice } from '../../lib/sluice.js';

// Module scope: a warm instance reuses the pool. Lambda sends an instance one request at a time, so
// the pool needs only what one drain uses: its handlers (concurrency) and its own two statements.
const sluice = createSluice({ ...appOptions, poolMax: DRAIN_DEFAULTS.concurrency + 2 });
closeOnShutdown(sluice);

export const http = lambdaHttpHandler(sluice);
export const scheduled = lambdaScheduledHandler(sluice);
