import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/aws/${name}`, import.meta.url), 'utf8'));

/** A Lambda context object whose invocation ends `remainingMs` from now. */
export function lambdaContext(remainingMs = 60_000): Context {
  const end = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true, functionName: 'SluiceHttp', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:SluiceHttp', memoryLimitInMB: '512',
    awsRequestId: '8f5c6ad1-0000-4000-8000-000000000000', logGroupName: '/aws/lambda/SluiceHttp', logStreamName: 'stream',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => {}, fail: () => {}, succeed: () => {},
  };
}

export interface EventRequest {
  headers?: Record<string, string>;
  /** Sent as is, or base64-encoded with isBase64Encoded (as a function URL sends binary bodies). */
  body?: string;
  base64?: boolean;
  cookies?: string[];
}

/** AWS's documented function URL event (payload format 2.0), with this request's method, path and body. */
export function functionUrlEvent(method: string, pathAndQuery: string, r: EventRequest = {}): APIGatewayProxyEventV2 {
  const event = fixture('function-url-event.json') as APIGatewayProxyEventV2;
  // The documentation's placeholders (<url-id>) are not a valid host.
  event.requestContext.domainPrefix = 'abcdefghijklmnop';
  event.requestContext.domainName = 'abcdefghijklmnop.lambda-url.us-west-2.on.aws';
  const [path, query = ''] = pathAndQuery.split('?') as [string, string?];
  event.rawPath = path;
  event.rawQueryString = query;
  event.queryStringParameters = query ? Object.fromEntries(new URLSearchParams(query)) : undefined;
  event.requestContext.http = { ...event.requestContext.http, method, path };
  event.headers = { host: event.requestContext.domainName, ...r.headers };
  event.cookies = r.cookies;
  event.body = r.body === undefined ? undefined : r.base64 ? Buffer.from(r.body).toString('base64') : r.body;
  event.isBase64Encoded = Boolean(r.base64 && r.body !== undefined);
  return event;
}

export const scheduledRuleEvent = () => fixture('scheduled-event-rule.json') as Record<string, unknown>;
