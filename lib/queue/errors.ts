import type { z } from 'zod';
import type { JobStatus } from './schema.js';

/** Base class of every error Sluice throws on purpose; `code` is stable for programs to switch on. */
export class SluiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Enqueue input (payload or options) failed its zod schema; nothing was inserted. */
export class ValidationError extends SluiceError {
  constructor(
    message: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super('validation_failed', message);
  }
}

/** No job definition has this type; `known` lists the ones that exist. Nothing was inserted. */
export class UnknownJobTypeError extends SluiceError {
  constructor(
    readonly type: string,
    readonly known: string[],
    /** In a bulk enqueue, which item: "jobs[3]: ". */
    where = '',
  ) {
    super('unknown_job_type', `${where}unknown job type "${type}"; known types: ${known.join(', ') || '(none)'}`);
  }
}

/** The serialized payload is larger than the configured limit. Nothing was inserted. */
export class PayloadTooLargeError extends SluiceError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    /** In a bulk enqueue, which item: "jobs[3]: ". */
    where = '',
  ) {
    super('payload_too_large', `${where}payload is ${bytes} bytes; the limit is ${limit}`);
  }
}

/** No job has this id (it never existed, succeeded or was cancelled). */
export class JobNotFoundError extends SluiceError {
  constructor(readonly id: string) {
    super('job_not_found', `no job with id ${id}`);
  }
}

/** The job is not in a state the operation applies to. */
export class JobStateError extends SluiceError {
  constructor(
    readonly id: string,
    readonly status: string,
    action: string,
  ) {
    super('job_state_conflict', `job ${id} is ${status}: ${action}`);
  }
}

/** The server lacks a setting it needs (DATABASE_URL); the HTTP API answers 500 naming it. */
export class MisconfiguredError extends SluiceError {
  constructor(message: string) {
    super('misconfigured', message);
  }
}

/** Handler signal: do not retry; the job goes dead at once with this message as last_error. */
export class PermanentError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('permanent', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * A running job was cancelled (admin.cancel): the reason `ctx.signal` fires with. Whatever its handler
 * does next, the job ends cancelled and is not retried.
 */
export class JobCancelledError extends SluiceError {
  constructor(readonly id: string) {
    super('job_cancelled', `job ${id} was cancelled`);
  }
}

/**
 * Handler signal: run again after `delayMs` (a snooze). Unlike a failure it does not consume an
 * attempt, so a job waiting on a rate limit or an upstream that is not ready yet never goes dead for it.
 */
export class RetryLaterError extends SluiceError {
  constructor(
    readonly delayMs: number,
    message = `retry requested in ${delayMs} ms`,
  ) {
    super('retry_later', message);
  }
}

/** A short description of anything thrown, for last_error (bounded in size). Never throws itself. */
export function describeError(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : typeof error === 'string' ? error : JSON.stringify(error);
  } catch {
    text = Object.prototype.toString.call(error); // a BigInt, a cycle, a throwing toJSON...
  }
  return (text ?? String(error)).slice(0, 2000);
}

/** A line for the log: name, message and stack, but none of the error's other properties (they can
 *  hold connection strings or query parameters). Likewise a thrown non-Error object shows only its own
 *  name and message strings, if it has them, never the whole object. */
export function loggable(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  if (typeof error !== 'object' || error === null) return describeError(error);
  try {
    const { name, message } = error as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return `${typeof name === 'string' ? name : 'Error'}: ${message}`.slice(0, 2000);
  } catch {
    // a throwing getter: fall through
  }
  return `a thrown ${Object.prototype.toString.call(error)}`;
}
