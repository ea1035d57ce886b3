/**
 * One bad row never stops a queue. When a claim or an outcome write fails on the data it met (SQLSTATE
 * class 22, data exception, or 23, integrity violation: a value out of range, a date past the calendar,
 * a row that breaks a constraint), sending it again would fail again, and every drain would stop on the
 * same row. The pass instead narrows the failure down to one job and sets that job aside: dead, with the
 * database's error, for a human to read and retry. The rest of the queue runs.
 */
import type { Db } from '../db.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import { jobWriteOutcomes, type Outcome } from './queries-drain.js';
import type { FlowLimits } from './queries-flow.js';
import { jobClaimHead, jobSetAside } from './queries-set-aside.js';

/** A failure caused by the data a statement met, not by the connection or a race: sending it again fails again. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

const why = (what: string, error: unknown) => `set aside: ${what} failed on this job's row: ${describeError(error)}`;

/**
 * Writes outcomes one by one after a batch of them failed on its data; a job whose outcome fails on its
 * own is set aside. Returns the outcomes settled either way (each outcome is idempotent under its token).
 */
export async function writeOutcomesApart(db: Db, outcomes: Outcome[], flow: FlowLimits | null, keepCompleted: boolean): Promise<Outcome[]> {
  const settled: Outcome[] = [];
  for (const outcome of outcomes) {
    try {
      await jobWriteOutcomes(db, [outcome], flow, [], keepCompleted);
    } catch (error) {
      if (!isDataError(error)) throw error;
      await jobSetAside(db, outcome.id, outcome.token, why(`writing its outcome (${outcome.kind})`, error));
      log.warn('job set aside: its outcome could not be written', { jobId: outcome.id, error });
    }
    settled.push(outcome);
  }
  return settled;
}

/**
 * A claim of one job, with nothing else in it, failed on its data: the job at the head of the claim
 * order is the one. Sets it aside; its id, or null when there is none (the failure lies elsewhere).
 */
export async function setAsideClaimHead(db: Db, types: string[], error: unknown): Promise<string | null> {
  const id = await jobClaimHead(db, types);
  if (id === null || !(await jobSetAside(db, id, null, why('the claim', error)))) return null;
  log.warn('job set aside: claiming it failed', { jobId: id, error });
  return id;
}
