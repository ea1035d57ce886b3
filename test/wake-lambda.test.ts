import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SECRETS, setEnv } from './support/api.js';
import { freshDatabase } from './support/db.js';
import { functionUrlEvent, lambdaContext, scheduledRuleEvent } from './support/lambda.js';
import { countJobs } from './support/sql.js';

// Kicks on Lambda (issue 9): nothing runs after a Lambda answers, so the http function invokes the drain
// function asynchronously. AWS's Lambda API cannot run here: a local server answers Invoke as the API
// documents it (POST /2015-03-31/functions/{name}/invocations, X-Amz-Invocation-Type: Event, 202).
const invokes: { path: string; type: string | undefined; payload: unknown }[] = [];
let answer = { status: 202, headers: {} as Record<string, string>, body: '' };
const lambdaApi = createServer(async (req: IncomingMessage, res) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  invokes.push({ path: req.url ?? '', type: req.headers['x-amz-invocation-type'] as string | undefined, payload: JSON.parse(text) });
  res.writeHead(answer.status, answer.headers).end(answer.body);
});

let conn: Awaited<ReturnType<typeof freshDatabase>>;
let handler: typeof import('../deploy/aws/handler.js');
beforeAll(async () => {
  await new Promise<void>((resolve) => lambdaApi.listen(0, '127.0.0.1', resolve));
  conn = await freshDatabase('pg');
  setEnv({
    ...SECRETS, DATABASE_URL: conn.url, EMAIL_WEBHOOK_URL: undefined, DRAIN_SAFETY_MARGIN_MS: '1000',
    SLUICE_DRAIN_FUNCTION: 'sluice-drain', AWS_LAMBDA_FUNCTION_NAME: 'SluiceHttp',
    // The SDK's documented endpoint override and static credentials: it signs requests as for AWS.
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambdaApi.address() as AddressInfo).port}`,
    AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  });
  handler = await import('../deploy/aws/handler.js');
});
afterAll(async () => {
  await conn?.close();
  await new Promise((resolve) => lambdaApi.close(resolve));
});
beforeEach(async () => {
  await conn.db.execute(sql`delete from sluice.jobs`);
  invokes.length = 0;
  answer = { status: 202, headers: {}, body: '' };
});

const welcome = { userId: 'u1', email: 'ada@example.com', name: 'Ada' };
const enqueue = async () => {
  const event = functionUrlEvent('POST', '/api/jobs', {
    headers: { authorization: `Bearer ${SECRETS.ENQUEUE_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'send-welcome-email', payload: welcome }),
  });
  return (await handler.http(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
};

describe('kicks on Lambda', () => {
  it('invoke the drain function asynchronously, once until a drain has found the queue empty', async () => {
    expect((await enqueue()).statusCode).toBe(202);
    expect(invokes).toEqual([{ path: '/2015-03-31/functions/sluice-drain/invocations', type: 'Event', payload: { sluice: { reason: 'kick', hop: 0, slot: null } } }]);
    expect((await enqueue()).statusCode).toBe(202);
    expect(invokes).toHaveLength(1); // the drain the first kick started will see this job too

    // Lambda runs the drain function with that event.
    const summary = await handler.scheduled(invokes[0]!.payload as Record<string, unknown>, lambdaContext());
    expect(summary).toMatchObject({ completed: 2, stoppedBy: 'empty' });
    expect((await enqueue()).statusCode).toBe(202);
    expect(invokes).toHaveLength(2);
  });

  it('follow the example signup\'s commit too, sent before the answer', async () => {
    await conn.db.execute(sql`update sluice.apps set kick_sent_at = null`);
    const event = functionUrlEvent('POST', '/api/signup', {
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'kick@example.com', name: 'Kick' }),
    });
    expect(((await handler.http(event, lambdaContext())) as APIGatewayProxyStructuredResultV2).statusCode).toBe(202);
    expect(invokes.map((i) => i.payload)).toEqual([{ sluice: { reason: 'kick', hop: 0, slot: null } }]);
  });

  it('lose nothing when Invoke is refused: the schedule drains the job, and the next kick tries at once', async () => {
    await conn.db.execute(sql`update sluice.apps set kick_sent_at = null`);
    answer = {
      status: 403,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ Message: 'not authorized to perform: lambda:InvokeFunction' }),
    };
    expect((await enqueue()).statusCode).toBe(202);
    expect(invokes).toHaveLength(1);
    expect(await countJobs(conn.db, sql`status = 'pending' and attempts = 0`)).toBe(1);
    // The refused kick left no mark behind: the next enqueue's kick is sent, not held back for a minute.
    answer = { status: 202, headers: {}, body: '' };
    expect((await enqueue()).statusCode).toBe(202);
    expect(invokes).toHaveLength(2);
    expect(await handler.scheduled(scheduledRuleEvent(), lambdaContext())).toMatchObject({ completed: 2 });
  });
});
