import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import type { VercelRequest, VercelResponse } from '@vercel/node';

/**
 * A stand-in for the helpers Vercel's Node runtime adds to req and res (@vercel/node's
 * serverless-functions/helpers.ts), with the same semantics: req.query, req.cookies and req.body are
 * lazy, req.body is parsed by content type and throws a 400 error on bad JSON when first read;
 * res.status/json/send/redirect behave like theirs.
 */
export class ApiError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

function lazy<T>(target: object, prop: string, getter: () => T): void {
  Object.defineProperty(target, prop, {
    configurable: true, enumerable: true,
    get: () => {
      const value = getter();
      Object.defineProperty(target, prop, { configurable: true, enumerable: true, writable: true, value });
      return value;
    },
    set: (value) => Object.defineProperty(target, prop, { configurable: true, enumerable: true, writable: true, value }),
  });
}

const mediaType = (header: string | undefined) => (header ?? 'text/plain').split(';')[0]!.trim().toLowerCase();

function parseBody(body: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type === 'application/json') {
    try {
      const text = body.toString();
      return text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(400, 'Invalid JSON');
    }
  }
  if (type === 'application/octet-stream') return body;
  if (type === 'application/x-www-form-urlencoded') return parseQueryString(body.toString());
  if (type === 'text/plain') return body.toString();
  return undefined;
}

function parseQuery(url = '/', params: Record<string, string>): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  new URL(url, 'http://localhost').searchParams.forEach((value, key) => {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  });
  return { ...query, ...params };
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const key = pair.slice(0, at).trim();
    let value = pair.slice(at + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try { value = decodeURIComponent(value); } catch { /* kept as sent */ }
    if (key && !(key in cookies)) cookies[key] = value;
  }
  return cookies;
}

/** Adds Vercel's helpers to a raw request/response pair whose body has been read into `body`. */
export function addHelpers(raw: IncomingMessage, rawRes: ServerResponse, body: Buffer, params: Record<string, string>) {
  const req = raw as VercelRequest;
  const res = rawRes as VercelResponse;
  lazy(req, 'query', () => parseQuery(raw.url, params));
  lazy(req, 'cookies', () => parseCookies(raw.headers.cookie));
  const contentType = raw.headers['content-type'];
  // Like Vercel: without a Content-Type the body is not read and req.body is ''.
  lazy(req, 'body', () => parseBody(contentType === undefined ? Buffer.alloc(0) : body, contentType));
  res.status = (code) => { res.statusCode = code; return res; };
  res.redirect = (statusOrUrl, url) => {
    const [code, location] = typeof statusOrUrl === 'string' ? [307, statusOrUrl] : [statusOrUrl, url];
    if (typeof location !== 'string') throw new Error('res.redirect(url) or res.redirect(status, url)');
    res.writeHead(code, { Location: location }).end();
    return res;
  };
  res.json = (value) => {
    if (!res.getHeader('content-type')) res.setHeader('content-type', 'application/json; charset=utf-8');
    return send(req, res, JSON.stringify(value));
  };
  res.send = (value) => send(req, res, value);
  return { req, res };
}

function send(req: VercelRequest, res: VercelResponse, body: unknown): VercelResponse {
  let chunk: string | Buffer = '';
  if (typeof body === 'string') {
    if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/html; charset=utf-8');
    chunk = body;
  } else if (Buffer.isBuffer(body)) {
    if (!res.getHeader('content-type')) res.setHeader('content-type', 'application/octet-stream');
    chunk = body;
  } else if (typeof body === 'object' && body !== null || typeof body === 'number' || typeof body === 'boolean') {
    return res.json(body); // like Vercel: numbers and booleans go out as JSON too
  }
  if (res.statusCode === 204 || res.statusCode === 304) {
    ['Content-Type', 'Content-Length', 'Transfer-Encoding'].forEach((h) => res.removeHeader(h));
    chunk = '';
  } else {
    res.setHeader('content-length', Buffer.byteLength(chunk));
  }
  if (req.method === 'HEAD') res.end();
  else res.end(chunk);
  return res;
}
