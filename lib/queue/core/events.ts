/**
 * Events: sendEvent stores one and makes the jobs waiting for it (ctx.waitForEvent) due, at once and
 * durably, in the caller's transaction when it gives one: rolled back, the event was never sent.
 */
import { z } from 'zod';
import { DEFAULT_SETTINGS } from '../config.js';
import type { Db } from '../db.js';
import { PayloadTooLargeError, ValidationError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { jsonDepthExceeds, jsonUnstorable, MAX_JSON_DEPTH } from '../json.js';
import { eventSend } from './queries-waits.js';

/** chr(0) Postgres cannot store; chr(1) joins a name and a key in a waiting job's wait_for. */
const storable = (s: string) => !s.includes('\0') && !s.includes('\u0001') && s.isWellFormed();

/** An event as sendEvent and POST /api/events take it. */
export const eventSchema = z.strictObject({
  /** Any name: what ctx.waitForEvent's `event` names. 1-200 characters. */
  name: z.string().min(1).max(200).refine(storable, 'name holds a NUL, a chr(1) or a lone surrogate'),
  /** Which waits it is for (an order id, an approval token): what their `key` names. Default ''. */
  key: z.string().max(255).refine(storable, 'key holds a NUL, a chr(1) or a lone surrogate').default(''),
  /** What the waits resolve to: any JSON (default null), at most SLUICE_MAX_PAYLOAD_BYTES of it. */
  data: z.unknown().optional(),
});

export type EventInput = z.input<typeof eventSchema>;

/** What sendEvent answers: the event's id, and how many waiting jobs it was delivered to (each now due, to resume). */
export interface SendEventResult {
  id: string;
  delivered: number;
}

/** Throws the TypeError a handler's wait gets for an event name or key sendEvent would refuse. */
export function checkEventName(name: string, key: string, where: string): void {
  const parsed = eventSchema.safeParse({ name, key });
  if (!parsed.success) throw new TypeError(`${where}: ${z.prettifyError(parsed.error)}`);
}

/**
 * Sends an event. `db` may be the caller's transaction (the event and its deliveries commit with it), else
 * one is opened. A ValidationError for a bad name, key or data; PayloadTooLargeError past `maxBytes`.
 */
export async function sendEvent(db: Db, name: string, body: { key?: string; data?: unknown } = {}, maxBytes = DEFAULT_SETTINGS.SLUICE_MAX_PAYLOAD_BYTES): Promise<SendEventResult> {
  const parsed = eventSchema.safeParse({ name, ...body });
  if (!parsed.success) throw new ValidationError(`invalid event: ${z.prettifyError(parsed.error)}`, parsed.error.issues);
  const { key, data } = parsed.data;
  let json: string | undefined;
  try {
    json = JSON.stringify(data ?? null);
  } catch (error) {
    const message = `event data cannot be serialized as JSON: ${(error as Error).message}`;
    throw new ValidationError(message, [{ code: 'custom', path: ['data'], message, input: undefined }]);
  }
  if (jsonUnstorable(json) || jsonDepthExceeds(json, MAX_JSON_DEPTH)) {
    const message = `event data holds JSON Postgres cannot store (a NUL, a lone surrogate, or nesting deeper than ${MAX_JSON_DEPTH})`;
    throw new ValidationError(message, [{ code: 'custom', path: ['data'], message, input: undefined }]);
  }
  if (json.length * 3 > maxBytes && Buffer.byteLength(json) > maxBytes) throw new PayloadTooLargeError(Buffer.byteLength(json), maxBytes, '');
  const id = uuidv7();
  // A savepoint inside the caller's transaction, a transaction of its own otherwise: the lock is held to the end of either.
  const delivered = await db.transaction((tx) => eventSend(tx, id, name, key, json));
  return { id, delivered };
}
