import { z } from 'zod';
import {
  JobNotFoundError, JobStateError, MisconfiguredError, PayloadTooLargeError, SluiceError, UnknownJobTypeError, ValidationError,
} from '../queue/index.js';
import { log } from '../queue/log.js';

/** An HTTP answer decided before any work: wrong token, bad body, missing configuration. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Headers of the answer, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * `work`, a lookup a request's authentication needs (a session, the throttle); when it fails, a 503
 * with Retry-After, whatever the error: an unauthenticated request never gets a 500. A missing
 * DATABASE_URL stays the 500 naming it (MisconfiguredError), as every route answers without it.
 */
export async function orUnavailable<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MisconfiguredError || error instanceof HttpError) throw error;
    log.error(`${what} failed`, { error });
    throw new HttpError(503, 'database unavailable; try again shortly', {}, { 'Retry-After': '5' });
  }
}

/** Status codes of the typed errors the engine throws on purpose. */
const STATUS: [new (...args: never[]) => SluiceError, number][] = [
  [ValidationError, 400],
  [UnknownJobTypeError, 400],
  [PayloadTooLargeError, 413],
  [JobNotFoundError, 404],
  [JobStateError, 409],
  [MisconfiguredError, 500],
];

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { 'Cache-Control': 'no-store', ...headers } });

/** The database could not be reached or went away: socket errors, Postgres' connection_exception
 *  class (08), admin/crash shutdowns (57P01-57P03), too_many_connections (53300, common on serverless).
 *  Not the client's doing, and worth a retry. */
function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|08...|57P0[123]|53300)$/.test(code)) return true;
  }
  return false;
}

/**
 * The answer to an error: its status and message for known ones (with zod issues where there are
 * some), a bare 500 for anything else, whose details go to the log only.
 */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    if (error.status >= 500) log.error(error.message, { status: error.status });
    return json(error.status, { error: error.message, ...error.extra }, { ...(error.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}), ...error.headers });
  }
  if (error instanceof z.ZodError) {
    return json(400, { error: `invalid request: ${z.prettifyError(error)}`, issues: error.issues });
  }
  const known = STATUS.find(([type]) => error instanceof type);
  if (known && error instanceof SluiceError) {
    const body: Record<string, unknown> = { error: error.message, code: error.code };
    if (error instanceof MisconfiguredError) log.error(error.message);
    if (error instanceof ValidationError) body.issues = error.issues;
    if (error instanceof UnknownJobTypeError) body.known = error.known;
    if (error instanceof JobStateError) body.status = error.status;
    return json(known[1], body);
  }
  if (isDatabaseUnavailable(error)) {
    log.error('database unavailable', { error });
    return json(503, { error: 'database unavailable; try again shortly' }, { 'Retry-After': '5' });
  }
  log.error('unexpected error', { error });
  return json(500, { error: 'internal error' });
}
