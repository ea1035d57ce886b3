import { z } from 'zod';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../queue/index.js';
import { HttpError } from './errors.js';

const isJson = (type: string | null) => /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type ?? '');

/** A request body may wrap payloads (a bulk enqueue adds three levels), so it may nest a little deeper. */
const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8;

/** The body's text, read until `limit` bytes at most: a chunked body without Content-Length cannot run past it. */
async function readText(request: Request, limit: number): Promise<string> {
  const length = Number(request.headers.get('content-length') ?? 0);
  if (length > limit) throw new HttpError(413, `request body is ${length} bytes; the limit is ${limit}`);
  if (!request.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    // A client that goes away mid-upload errors the stream: its request, not a server fault.
    const { done, value } = await reader.read().catch(() => {
      throw new HttpError(400, 'request body could not be read (the client closed the connection?)');
    });
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, `request body is over ${limit} bytes; the limit is ${limit}`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The request's JSON body checked against `schema`. Over `limit` bytes: 413. Not JSON: 415. Unparseable
 * or nested deeper than MAX_BODY_DEPTH: 400. No body at all counts as `{}` when `optional`, so
 * `curl -X POST` works for routes whose fields are all optional.
 */
export async function jsonBody<S extends z.ZodType>(
  request: Request, schema: S, { limit, optional = false }: { limit: number; optional?: boolean },
): Promise<z.output<S>> {
  const type = request.headers.get('content-type');
  const unsupported = () => new HttpError(415, `send a JSON body with Content-Type: application/json (got ${type ?? 'none'})`);
  // Refused before reading up to `limit` bytes, unless it may be the empty body an optional route takes.
  if (!isJson(type) && !optional) throw unsupported();
  const text = await readText(request, limit);
  if (text === '' && optional) return parse(schema, {});
  if (!isJson(type)) throw unsupported();
  if (jsonDepthExceeds(text, MAX_BODY_DEPTH)) throw new HttpError(400, `invalid JSON body: nested deeper than ${MAX_BODY_DEPTH} levels`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `invalid JSON body: ${(error as Error).message}`);
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

/** The query string as an object: one value as a string, a repeated key as an array (a schema refuses it). */
export function queryObject(request: Request): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null); // a key named __proto__ stays a key
  new URL(request.url).searchParams.forEach((value, key) => {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  });
  return query;
}

/** A form's fields (application/x-www-form-urlencoded), read until `limit` bytes at most; another type: 415. */
export async function formBody(request: Request, limit: number): Promise<URLSearchParams> {
  const type = request.headers.get('content-type');
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type ?? '')) {
    throw new HttpError(415, `send a form with Content-Type: application/x-www-form-urlencoded (got ${type ?? 'none'})`);
  }
  return new URLSearchParams(await readText(request, limit));
}
