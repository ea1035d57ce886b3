import type { VercelRequest } from '@vercel/node';
import { z } from 'zod';
import { config } from '../queue/index.js';
import { HttpError } from './errors.js';

const isJson = (type: string | undefined) => /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type ?? '');

/**
 * The request's JSON body checked against `schema`. Bodies over SLUICE_MAX_BODY_BYTES: 413. Not JSON:
 * 415. Unparseable: 400 (the runtime's lazy req.body throws a 400 ApiError, caught here). No body at
 * all counts as `{}` when `optional`, so `curl -X POST` works for routes whose fields are all optional.
 */
export function jsonBody<S extends z.ZodType>(req: VercelRequest, schema: S, { optional = false } = {}): z.output<S> {
  const limit = config().SLUICE_MAX_BODY_BYTES;
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > limit) throw new HttpError(413, `request body is ${length} bytes; the limit is ${limit}`);
  let body: unknown;
  const type = req.headers['content-type'];
  if (length === 0 && !req.headers['transfer-encoding'] && optional) {
    body = {};
  } else if (!isJson(type)) {
    throw new HttpError(415, `send a JSON body with Content-Type: application/json (got ${type ?? 'none'})`);
  } else {
    try {
      body = req.body;
    } catch (error) {
      throw new HttpError(400, `invalid JSON body: ${(error as Error).message}`);
    }
    // Chunked requests carry no Content-Length: measure what was parsed instead.
    const bytes = Buffer.byteLength(JSON.stringify(body ?? null));
    if (bytes > limit) throw new HttpError(413, `request body is about ${bytes} bytes; the limit is ${limit}`);
  }
  return parse(schema, body);
}

/** `value` checked against `schema`, or a 400 carrying the zod issues. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, `invalid request: ${z.prettifyError(result.error)}`, { issues: result.error.issues });
  }
  return result.data;
}
