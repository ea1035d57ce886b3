import { SpanKind, type Span } from '@opentelemetry/api';
import { z } from 'zod';
import { DEFAULT_SETTINGS } from '../config.js';
import type { Db } from '../db.js';
import { PayloadTooLargeError, UnknownJobTypeError, ValidationError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { jsonDepthExceeds, jsonUnstorable, MAX_JSON_DEPTH } from '../json.js';
import type { FlowLimit, JobDefinition, JobPayload, JobRegistry } from './jobs.js';
import { jobDebounce, jobIdsByIdempotencyKey, jobInsert, jobInsertIdempotent, typedKey, type NewJobRow } from './queries-enqueue.js';
import { inSpan, traceParentOf } from '../telemetry.js';

const INT32_MAX = 2 ** 31 - 1;

/** Per-enqueue options; the HTTP API validates its body with the same schema. */
export const enqueueOptionsSchema = z
  .strictObject({
    /** Earliest start. A Date or an ISO 8601 string with offset. */
    runAt: z
      .union([z.date(), z.iso.datetime({ offset: true }).transform((s) => new Date(s))], {
        error: 'runAt must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T08:00:00Z or 2026-12-01T09:00:00+01:00',
      })
      .refine((d) => d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999, 'runAt must fall in the years 1 to 9999')
      .optional(),
    /** Earliest start, in ms from now (the database's now). */
    delayMs: z.number().int().nonnegative().max(INT32_MAX).optional(),
    /** Higher runs first. Default: the job type's priority. */
    priority: z.number().int().min(-INT32_MAX).max(INT32_MAX).optional(),
    /** Default: the job type's maxAttempts. */
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    /**
     * At most one pending job of this type per key: enqueueing again replaces that job's payload and
     * starts it windowMs from now instead (a running one is left alone: the new job waits behind it).
     */
    debounce: z
      .strictObject({
        key: z.string().min(1).max(255).refine((k) => !k.includes('\0') && k.isWellFormed(), 'debounce.key holds a NUL or a lone surrogate'),
        windowMs: z.number().int().positive().max(INT32_MAX),
      })
      .optional(),
    /** While a job with this key is pending, running or dead, enqueueing it again returns that job. */
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .refine((k) => !k.includes('\0') && k.isWellFormed(), 'idempotencyKey holds a NUL or a lone surrogate, which Postgres cannot store')
      .optional(),
  })
  .refine((o) => o.runAt === undefined || o.delayMs === undefined, { message: 'give runAt or delayMs, not both' })
  .refine((o) => !o.debounce || (o.runAt === undefined && o.delayMs === undefined && o.idempotencyKey === undefined), {
    message: 'debounce sets the start itself (windowMs from the last enqueue): give it without runAt, delayMs or idempotencyKey',
  });

export type EnqueueOptions = z.input<typeof enqueueOptionsSchema>;
type EnqueueOptionsParsed = z.output<typeof enqueueOptionsSchema>;

/** One job of a bulk enqueue: its definition or type name, and a payload for its schema's input. */
export type EnqueueItem<J extends JobDefinition = JobDefinition> = { job: J | J['type']; payload: JobPayload<J> } & EnqueueOptions;

/** What an enqueue resolves against: createSluice passes its registry and settings. */
export interface EnqueueContext {
  /** Definitions a type name may name. Default: none, so only definitions are accepted. */
  jobs?: JobRegistry;
  /** Default: SLUICE_MAX_PAYLOAD_BYTES's default (256 KB); an instance passes its setting. */
  maxPayloadBytes?: number;
}

/** How messages of a bulk call name the item: "jobs[3]: ", made only for an error. */
const at = (index: number | undefined) => (index === undefined ? '' : `jobs[${index}]: `);

/**
 * The payload as JSON text, or a ValidationError for what Postgres' jsonb could not take or JSON
 * cannot say: nesting deeper than MAX_JSON_DEPTH (jsonb parses recursively and would fail the whole
 * statement), a cycle, a BigInt.
 */
function serialize(value: unknown, type: string, index: number | undefined): string {
  let text: string;
  try {
    text = JSON.stringify(value ?? null);
  } catch (error) {
    const message = `${at(index)}payload for "${type}" cannot be serialized as JSON: ${(error as Error).message}`;
    throw new ValidationError(message, [{ code: 'custom', path: [], message, input: undefined }]);
  }
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    const message = `${at(index)}payload for "${type}" is nested deeper than ${MAX_JSON_DEPTH} levels`;
    throw new ValidationError(message, [{ code: 'custom', path: [], message, input: undefined }]);
  }
  return text;
}

/**
 * The key a job of a limited type counts under: its limit's key function of the payload, or '' (the
 * whole type) without one; null for a type without that limit. A key function that throws or returns
 * no usable key fails the enqueue, as a bad payload does.
 */
function flowKey(limit: Pick<FlowLimit, 'key'> | null, name: string, payload: unknown, type: string, index: number | undefined): string | null {
  if (limit === null) return null;
  if (limit.key === null) return '';
  let key: unknown;
  try {
    key = limit.key(payload);
  } catch (error) {
    key = error;
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > 255 || key.includes('\0') || !key.isWellFormed()) {
    const why = key instanceof Error ? `threw: ${key.message}` : `returned ${typeof key === 'string' ? 'an unusable string' : typeof key}`;
    const message = `${at(index)}${name}.key of "${type}" ${why}; it must return a string of 1-255 characters without NUL`;
    throw new ValidationError(message, [{ code: 'custom', path: [], message, input: undefined }]);
  }
  return key;
}

const NO_JOBS: JobRegistry = new Map();

/** A type name resolves only against the caller's registry (createSluice passes its own). */
function resolveJob(job: JobDefinition | string, registry: JobRegistry, index: number | undefined): JobDefinition {
  if (typeof job !== 'string') return job;
  const definition = registry.get(job);
  if (!definition) throw new UnknownJobTypeError(job, [...registry.keys()].sort(), at(index));
  return definition;
}

/** The item's own properties besides job and payload, or undefined when it has none (most bulk items). */
function optionsOf(item: EnqueueItem): Record<string, unknown> | undefined {
  let options: Record<string, unknown> | undefined;
  for (const key in item) {
    if (key === 'job' || key === 'payload' || !Object.hasOwn(item, key)) continue;
    options ??= {};
    options[key] = item[key as keyof EnqueueItem];
  }
  return options;
}

// Most bulk items carry no options: they skip the options' zod pass.
const NO_OPTIONS = { success: true as const, data: {} as EnqueueOptionsParsed };

/**
 * Validates one item into a row, or throws a typed error. `index` is the item's place in a bulk call.
 * Every line here runs once per job of a bulk call, and in a process that has enqueued only a few
 * times V8 still runs it unoptimized: so no per-item strings, spreads or regex when nothing is wrong.
 */
export function toRow(item: EnqueueItem, registry: JobRegistry, limit: number, index?: number): NewJobRow {
  const job = resolveJob(item.job, registry, index);
  const rawOptions = optionsOf(item);
  const options = rawOptions ? enqueueOptionsSchema.safeParse(rawOptions) : NO_OPTIONS;
  if (!options.success) {
    throw new ValidationError(`${at(index)}invalid enqueue options: ${z.prettifyError(options.error)}`, options.error.issues);
  }
  const payload = job.payload.safeParse(item.payload);
  if (!payload.success) {
    throw new ValidationError(
      `${at(index)}invalid payload for "${job.type}": ${z.prettifyError(payload.error)}`,
      payload.error.issues,
    );
  }
  const payloadJson = serialize(payload.data, job.type, index);
  if (jsonUnstorable(payloadJson)) {
    const message = `${at(index)}payload for "${job.type}" holds a NUL character or a lone UTF-16 surrogate, which Postgres cannot store`;
    throw new ValidationError(message, [{ code: 'custom', path: [], message, input: undefined }]);
  }
  // Characters bound bytes from below: count bytes only when the text could be over the limit.
  if (payloadJson.length * 3 > limit) {
    const bytes = Buffer.byteLength(payloadJson);
    if (bytes > limit) throw new PayloadTooLargeError(bytes, limit, at(index));
  }
  const o = options.data;
  return {
    id: uuidv7(),
    type: job.type,
    payload_json: payloadJson,
    priority: o.priority ?? job.priority,
    max_attempts: o.maxAttempts ?? job.maxAttempts,
    delay_ms: o.debounce?.windowMs ?? o.delayMs ?? 0,
    run_at: o.runAt ? o.runAt.toISOString() : null,
    idempotency_key: o.idempotencyKey ?? null,
    debounce_key: o.debounce?.key ?? null,
    concurrency_key: flowKey(job.concurrency, 'concurrency', payload.data, job.type, index),
    rate_key: flowKey(job.rateLimit, 'rateLimit', payload.data, job.type, index),
    fairness_key: flowKey(job.fairness, 'fairness', payload.data, job.type, index),
  };
}

/**
 * What an enqueue answers for a job: its id; `duplicate` when a job with the same idempotency key (live, or kept with its result)
 * existed, whose id it is (nothing was written); `replaced` when a debounced enqueue replaced the
 * pending job of its debounce key (payload and start time), whose id it is.
 */
export interface EnqueueResult {
  id: string;
  duplicate: boolean;
  replaced: boolean;
}

/** What enqueueMany answers: ids[i], duplicate[i] and replaced[i] answer items[i] (see EnqueueResult). */
export interface EnqueueManyResult {
  ids: string[];
  duplicate: boolean[];
  replaced: boolean[];
}

/**
 * Enqueues one job. `db` may be a transaction: the job then exists only if that transaction commits.
 * A job with the same idempotency key still in the table (live, or kept with its result) wins: its id comes back with duplicate: true.
 */
export async function enqueue<J extends JobDefinition>(db: Db, job: J, payload: JobPayload<J>, options?: EnqueueOptions, context?: EnqueueContext): Promise<{ id: string; duplicate: boolean }>;
/** A type name resolves against `context.jobs` when the call runs (UnknownJobTypeError if it names none). */
export async function enqueue(db: Db, job: string, payload: unknown, options?: EnqueueOptions, context?: EnqueueContext): Promise<{ id: string; duplicate: boolean }>;
export async function enqueue(
  db: Db,
  job: JobDefinition | string,
  payload: unknown,
  options: EnqueueOptions = {},
  context: EnqueueContext = {},
): Promise<EnqueueResult> {
  const { ids, duplicate, replaced } = await enqueueMany(db, [{ job, payload, ...options }], context);
  return { id: ids[0]!, duplicate: duplicate[0]!, replaced: replaced[0]! };
}

/**
 * Enqueues many jobs in one statement (two when some idempotency keys exist already). Every item is
 * validated first: one bad item throws and nothing is inserted. ids[i], duplicate[i] and replaced[i] answer items[i].
 * The call is a `sluice.enqueue` span (docs/tracing.md), whose traceparent each new row keeps.
 */
export function enqueueMany(
  db: Db,
  items: readonly EnqueueItem[],
  context: EnqueueContext = {},
): Promise<EnqueueManyResult> {
  return inSpan('sluice.enqueue', SpanKind.PRODUCER, (span) => enqueueItems(db, items, context, span));
}

async function enqueueItems(db: Db, items: readonly EnqueueItem[], context: EnqueueContext, span: Span): Promise<EnqueueManyResult> {
  const registry = context.jobs ?? NO_JOBS;
  const limit = context.maxPayloadBytes ?? DEFAULT_SETTINGS.SLUICE_MAX_PAYLOAD_BYTES;
  const rows = items.map((item, i) => toRow(item, registry, limit, items.length > 1 ? i : undefined));
  const ids: string[] = rows.map((r) => r.id);
  const duplicate = new Array<boolean>(rows.length).fill(false);
  const replaced = new Array<boolean>(rows.length).fill(false);
  // Undefined unless something traces: the statements are then exactly those of an untraced enqueue.
  const traceParent = traceParentOf(span);
  if (span.isRecording()) {
    span.setAttributes({
      'messaging.system': 'sluice',
      'messaging.operation.type': 'send',
      'sluice.job.count': rows.length,
      'sluice.job.types': [...new Set(rows.map((r) => r.type))].sort().join(','),
    });
  }
  if (rows.length === 0) return { ids, duplicate, replaced };
  // Debounced items go one by one, each under its key's lock, the rest as one batch: all in one
  // transaction (all or nothing, as any bulk), the keys locked in one order so two bulks cannot deadlock.
  if (rows.some((r) => r.debounce_key !== null)) {
    await db.transaction(async (tx) => {
      const plain = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.debounce_key === null);
      if (plain.length > 0) {
        const done = await enqueueRows(tx, plain.map(({ r }) => r), traceParent);
        plain.forEach(({ i }, k) => { [ids[i], duplicate[i]] = [done.ids[k]!, done.duplicate[k]!]; });
      }
      const lockKey = (r: NewJobRow) => `${r.type}\u0001${r.debounce_key}`;
      const debounced = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.debounce_key !== null)
        .sort((a, b) => (lockKey(a.r) < lockKey(b.r) ? -1 : lockKey(a.r) > lockKey(b.r) ? 1 : a.i - b.i));
      for (const { r, i } of debounced) {
        const result = await jobDebounce(tx, r, traceParent);
        [ids[i], replaced[i]] = [result.id, result.replaced];
      }
    });
    return named(span, { ids, duplicate, replaced });
  }
  return named(span, { ...(await enqueueRows(db, rows, traceParent)), replaced });
}

/** A one-job enqueue's span names its job (the existing one's id for a duplicate or a replacement). */
function named(span: Span, result: EnqueueManyResult) {
  if (result.ids.length === 1 && span.isRecording()) {
    span.setAttributes({ 'sluice.job.id': result.ids[0]!, 'sluice.job.duplicate': result.duplicate[0]!, 'sluice.job.replaced': result.replaced[0]! });
  }
  return result;
}

/** Inserts rows that carry no debounce key: one statement, two when some idempotency keys exist already. */
async function enqueueRows(db: Db, rows: NewJobRow[], traceParent: string | undefined): Promise<{ ids: string[]; duplicate: boolean[] }> {
  const ids: string[] = rows.map((r) => r.id);
  const duplicate = new Array<boolean>(rows.length).fill(false);
  // Most batches carry no idempotency key: one plain insert, and no per-row bookkeeping for conflicts.
  if (rows.every((r) => r.idempotency_key === null)) {
    await jobInsert(db, rows, traceParent);
    return { ids, duplicate };
  }
  let todo = rows.map((_, i) => i);
  // A key whose job finished between our insert and our lookup is free again, so such rows go round again.
  for (let round = 0; todo.length > 0 && round < 3; round++) {
    const batch = todo.map((i) => rows[i]!);
    const inserted = new Set(await jobInsertIdempotent(db, batch, traceParent));
    const conflicted = todo.filter((i) => !inserted.has(rows[i]!.id));
    const keys = conflicted.map((i) => ({ type: rows[i]!.type, key: rows[i]!.idempotency_key! }));
    const existing = keys.length ? await jobIdsByIdempotencyKey(db, keys) : new Map<string, string>();
    todo = [];
    for (const i of conflicted) {
      const id = existing.get(typedKey(rows[i]!.type, rows[i]!.idempotency_key!));
      if (id) [ids[i], duplicate[i]] = [id, true];
      else todo.push(i);
    }
  }
  if (todo.length > 0) throw new Error('idempotency keys kept changing hands during enqueue; try again');
  return { ids, duplicate };
}
