import type { VercelResponse } from '@vercel/node';
import { z } from 'zod';
import { EmailTakenError } from '../app/users.js';
import {
  JobNotFoundError, JobStateError, loggable, PayloadTooLargeError, SluiceError, UnknownJobTypeError, ValidationError,
} from '../queue/index.js';

/** An HTTP answer decided before any work: wrong token, bad body, missing configuration. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Status codes of the typed errors the lib throws on purpose. */
const STATUS: [new (...args: never[]) => SluiceError, number][] = [
  [ValidationError, 400],
  [UnknownJobTypeError, 400],
  [PayloadTooLargeError, 413],
  [JobNotFoundError, 404],
  [JobStateError, 409],
  [EmailTakenError, 409],
];

/**
 * Answers an error: its status and message for known ones (with zod issues where there are some),
 * a bare 500 for anything else, whose details go to the log only.
 */
export function sendError(res: VercelResponse, error: unknown): void {
  if (res.headersSent) return void res.end();
  if (error instanceof HttpError) {
    if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    return void res.status(error.status).json({ error: error.message, ...error.extra });
  }
  if (error instanceof z.ZodError) {
    return void res.status(400).json({ error: `invalid request: ${z.prettifyError(error)}`, issues: error.issues });
  }
  const known = STATUS.find(([type]) => error instanceof type);
  if (known && error instanceof SluiceError) {
    const body: Record<string, unknown> = { error: error.message, code: error.code };
    if (error instanceof ValidationError) body.issues = error.issues;
    if (error instanceof UnknownJobTypeError) body.known = error.known;
    if (error instanceof JobStateError) body.status = error.status;
    return void res.status(known[1]).json(body);
  }
  console.error('[sluice] unexpected error:', loggable(error));
  res.status(500).json({ error: 'internal error' });
}
