// The chaos suite's workflow invariants (npm run chaos), checked on the jobs table, the effects and the
// events once a clean drain has settled everything: children enqueued once and accounted for, each
// transactional step's effect once, cancelled parents' trees ended, no wait that lost its event.
import { isDeepStrictEqual } from 'node:util';
import type { CancelOutcome } from './flow-load.js';
import { POISON_ATTEMPTS } from './handlers.js';
import { type ChildOutcome, childJob, parentJob, waiterJob } from './workflows.js';

/** A row of sluice.jobs as the checks read it (times in epoch ms). */
export interface JobRow {
  id: string;
  type: string;
  status: string;
  attempts: number;
  payload: Record<string, unknown>;
  result: unknown;
  parent_id: string | null;
  parent_step: string | null;
  completed_at: number | null;
}

/** A sent event of the waiters' name, in send (id) order. */
export interface EventRow {
  key: string;
  data: unknown;
  sent_at: number;
}

export interface FlowFacts {
  rows: JobRow[];
  /** How many times each job's step wrote its effect, by `${job_id} ${step}`. */
  effects: Map<string, number>;
  events: EventRow[];
  cancels: Map<string, CancelOutcome>;
  /** Events the load gave up sending (the faults cut them off for a minute). */
  unsent: number;
}

const ENDED = ['completed', 'dead', 'cancelled'];
/** Items by key, in their order (Object.groupBy is Node 21's). */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
/** `a 2, b 1`: how often each value comes. */
export const tally = (values: string[]) => [...groupBy(values, (v) => v)].map(([k, v]) => `${k} ${v.length}`).join(', ') || 'none';

/** The checks (what, whether it held, the first few offenders) and the figures. */
export function checkFlows(f: FlowFacts): { checks: [string, boolean, string[]][]; figures: string[] } {
  const byId = new Map(f.rows.map((r) => [r.id, r]));
  const children = f.rows.filter((r) => r.parent_id !== null);
  const parents = f.rows.filter((r) => r.type === parentJob.type);
  const waiters = f.rows.filter((r) => r.type === waiterJob.type);
  const effectOnce = (id: string, step: string) => f.effects.get(`${id} ${step}`) === 1;

  // Children: one row per parent and name, each with its parent's row, each completed one's effect once.
  const perStep = groupBy(children, (c) => `${c.parent_id} ${c.parent_step}`);
  const twice = [...perStep].filter(([, list]) => list.length > 1).map(([k]) => k);
  const orphans = children.filter((c) => !byId.has(c.parent_id!) && c.status !== 'cancelled').map((c) => c.id);
  const noEffect = children.filter((c) => c.status === 'completed' && !effectOnce(c.id, 'effect')).map((c) => c.id);

  // Completed parents: each child there, its outcome in the parent's result, the parent's own effect once.
  const badParents = parents.filter((p) => p.status === 'completed').filter((p) => {
    const { children: count, fails } = p.payload as { children: number; fails: number };
    const result = p.result as ChildOutcome[];
    if (!Array.isArray(result) || result.length !== count || !effectOnce(p.id, 'total')) return true;
    return result.some((outcome, i) => {
      const child = perStep.get(`${p.id} c${i + 1}`)?.[0];
      if (!child) return true;
      if (i + 1 === fails) return child.status !== 'dead' || child.attempts !== POISON_ATTEMPTS || !isDeepStrictEqual(outcome, { failed: 'dead' });
      return child.status !== 'completed' || !isDeepStrictEqual(outcome, child.result);
    });
  }).map((p) => p.id);

  // Cancels: a parent whose cancel took ends cancelled; no parent is cancelled without one; every child of a cancelled one ended.
  const notCancelled = [...f.cancels].filter(([id, o]) => o === 'cancelled' && byId.get(id)?.status !== 'cancelled').map(([id]) => id);
  const strayCancel = parents.filter((p) => p.status === 'cancelled' && !f.cancels.has(p.id)).map((p) => p.id);
  const cancelledKids = children.filter((c) => byId.get(c.parent_id!)?.status === 'cancelled');
  const openKids = cancelledKids.filter((c) => !ENDED.includes(c.status)).map((c) => c.id);

  // Waits: the i-th wait of a job has the i-th event of its key (send order), or null once its timeout passed.
  const eventsOf = groupBy(f.events, (e) => e.key);
  let early = 0;
  let timedOut = 0;
  const lostEvent = waiters.filter((w) => {
    const { key, waits, timeoutMs } = w.payload as { key: string; waits: number; timeoutMs: number };
    const result = w.result as { reachedAt: number; data: unknown[] } | null;
    if (w.status !== 'completed' || !result || result.data.length !== waits) return true;
    const sent = eventsOf.get(key) ?? [];
    early += sent.filter((e) => e.sent_at < result.reachedAt).length;
    return result.data.some((data, i) => {
      if (sent[i]) return !isDeepStrictEqual(data, sent[i].data);
      timedOut++;
      return data !== null || w.completed_at! < result.reachedAt + timeoutMs;
    });
  }).map((w) => w.id);

  const counted = (of: 'fanOut' | 'fails', yes: boolean) => parents.filter((p) => Boolean(p.payload[of]) === yes).length;
  const twiceSent = [...eventsOf.values()].filter((list) => list.length > 1).length;
  return {
    checks: [
      [`each child enqueued once: one row per parent and name (${twice.length} twice, ${children.length} children)`, twice.length === 0, twice],
      [`no child without its parent's row (${orphans.length})`, orphans.length === 0, orphans],
      [`each completed child's effect written exactly once (${noEffect.length} not)`, noEffect.length === 0, noEffect],
      [`completed parents: every child there, its result or failure in the parent's, the parent's effect once (${badParents.length} not)`, badParents.length === 0, badParents],
      [`cancelled parents ended cancelled, and only those (${notCancelled.length} not, ${strayCancel.length} stray)`, notCancelled.length + strayCancel.length === 0, [...notCancelled, ...strayCancel]],
      [`every child of a cancelled parent ended (${openKids.length} of ${cancelledKids.length} not)`, openKids.length === 0, openKids],
      [`every wait got its event, or null after its timeout (${lostEvent.length} of ${waiters.length} waiting jobs not)`, lostEvent.length === 0, lostEvent],
    ],
    figures: [
      `parents: ${parents.length} (${counted('fanOut', true)} fan-outs, ${counted('fanOut', false)} one after another, ${counted('fails', true)} with a child failing); ${tally(parents.map((p) => p.status))}`,
      `children: ${children.length}; ${tally(children.map((c) => c.status))}; of cancelled parents: ${tally(cancelledKids.map((c) => c.status))}`,
      `cancels: ${tally([...f.cancels.values()])}`,
      `waiting jobs: ${waiters.length}; events: ${f.events.length} (${early} sent before their job reached its wait, the others to a job waiting or already due; ${twiceSent} keys sent twice or more; ${f.unsent} given up); waits timed out: ${timedOut}`,
    ],
  };
}

/** A child that fails every run: its death is expected (the other checks leave it out). */
export const failingChild = (r: JobRow) => r.type === childJob.type && r.payload.fails === true;
