import type { Db } from '../db.js';
import type { FlowLimit, JobDefinition } from '../core/jobs.js';
import { pausedTypes } from './pause.js';
import { flowSlotsHeld, type HeldSlots } from '../core/queries-flow.js';

/** A flow limit as the admin API shows it, with what holds it now. */
export interface FlowLimitView {
  limit: number;
  /** Rate limits: the window in ms. */
  periodMs?: number;
  /** Whether the limit is per key (a key function) or over the whole type. */
  perKey: boolean;
  /** Running jobs (concurrency) or starts in the current window (rate), over every key. */
  held: number;
  /** Keys holding them. */
  keys: number;
}

/** A job type as GET /api/types shows it. */
export interface TypeView {
  type: string;
  paused: boolean;
  pausedAt: string | null;
  concurrency: FlowLimitView | null;
  rateLimit: FlowLimitView | null;
}

function limitView(limit: FlowLimit | null, held: HeldSlots | undefined): FlowLimitView | null {
  if (limit === null) return null;
  return {
    limit: limit.limit,
    ...(limit.periodMs !== null ? { periodMs: limit.periodMs } : {}),
    perKey: limit.key !== null,
    held: held?.held ?? 0,
    keys: held?.keys ?? 0,
  };
}

/** The instance's types and any other paused one: paused or not, and their flow limits with what holds them. */
export async function typeViews(db: Db, definitions: readonly JobDefinition[]): Promise<TypeView[]> {
  const [paused, held] = await Promise.all([pausedTypes(db), flowSlotsHeld(db)]);
  const pausedAt = new Map(paused.map((p) => [p.type, p.pausedAt]));
  const byType = new Map(definitions.map((d) => [d.type, d]));
  const heldOf = (type: string, limiter: HeldSlots['limiter']) => held.find((h) => h.type === type && h.limiter === limiter);
  return [...new Set([...byType.keys(), ...pausedAt.keys()])].sort().map((type) => ({
    type,
    paused: pausedAt.has(type),
    pausedAt: pausedAt.get(type) ?? null,
    concurrency: limitView(byType.get(type)?.concurrency ?? null, heldOf(type, 'concurrency')),
    rateLimit: limitView(byType.get(type)?.rateLimit ?? null, heldOf(type, 'rate')),
  }));
}
