import type { Db } from '../db.js';
import { typePause, typeResume, typesPaused, type PausedRow } from './queries-types.js';

/** A paused job type: drains claim none of its jobs until it is resumed. */
export interface PausedType {
  type: string;
  /** When it was paused (ISO 8601). */
  pausedAt: string;
}

const view = (r: PausedRow): PausedType => ({ type: r.type, pausedAt: new Date(r.paused_at).toISOString() });

/**
 * Pauses a type for every drain: their next claim skips its jobs (a running job finishes). Its pending
 * jobs stay pending, attempts untouched, and count in no alert. Pausing again keeps the first time.
 */
export async function pauseType(db: Db, type: string): Promise<PausedType> {
  return view(await typePause(db, type));
}

/** Resumes a type: its due jobs are claimed again. `resumed` is false when it was not paused. */
export async function resumeType(db: Db, type: string): Promise<{ type: string; resumed: boolean }> {
  return { type, resumed: await typeResume(db, type) };
}

/** The paused types, oldest pause first. */
export async function pausedTypes(db: Db): Promise<PausedType[]> {
  return (await typesPaused(db)).map(view);
}
