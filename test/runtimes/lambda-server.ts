/**
 * A stand-in for a Lambda function URL in front of deploy/aws/handler.ts's `http`, for the shared HTTP
 * suite: each HTTP request becomes the function URL event AWS documents (payload format 2.0: lower-case
 * headers, cookies in their own array, binary bodies base64-encoded), the handler is invoked with a
 * context of LAMBDA_TIMEOUT_MS, and its result becomes the response. Run: node --import tsx this file.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '../../deploy/aws/handler.js';
import { functionUrlEvent, lambdaContext } from '../support/lambda.js';

const TEXT = /^(application\/(json|x-www-form-urlencoded|[\w.+-]+\+json)|text\/)/i;
const timeoutMs = Number(process.env.LAMBDA_TIMEOUT_MS ?? 60_000);

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name !== 'cookie' && value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const binary = body.length > 0 && !TEXT.test(headers['content-type'] ?? '');
  const event = functionUrlEvent(req.method!, req.url!, {
    headers,
    body: body.length ? (binary ? body.toString('latin1') : body.toString()) : undefined,
    base64: binary,
    cookies: req.headers.cookie?.split(/;\s*/),
  });
  if (binary) event.body = body.toString('base64');
  try {
    const result = await http(event, lambdaContext(timeoutMs));
    const out = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
    if (result.cookies?.length) res.setHeader('set-cookie', result.cookies);
    res.writeHead(result.statusCode ?? 200).end(req.method === 'HEAD' ? undefined : out);
  } catch (error) {
    // What a function URL answers when the function throws.
    console.error('[lambda] handler threw:', error);
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"Message":"Internal Server Error"}');
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`function URL stand-in on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
