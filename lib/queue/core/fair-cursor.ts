import type { JobDefinition } from './jobs.js';
import type { FairWalk } from './queries-walk.js';

/**
 * Where each fair type's round-robin resumes, for one drain pass. A claim visits a fair type's keys in
 * key order starting after the cursor, wrapping around, at most a claim's worth of keys; the next claim
 * starts after the last key it served, so with more keys than a claim holds, every key gets its turn.
 * Kept in the pass, not the database: concurrent drains would otherwise wait on one row to move it.
 */
export class FairCursor {
  private readonly after = new Map<string, string>();
  // Types whose jobs without a key (enqueued before the type had fairness) may still wait: looked for
  // by each claim (a walk of a claim's worth of rows) until one claim of the type finds none.
  private readonly unkeyed = new Set<string>();

  constructor(jobs: readonly JobDefinition[]) {
    for (const job of jobs) {
      if (job.fairness === null) continue;
      this.after.set(job.type, '');
      this.unkeyed.add(job.type);
    }
  }

  /** The claim's fair types and their cursors; null when the pass has none (the claim is as before fairness). */
  walk(): FairWalk | null {
    if (this.after.size === 0) return null;
    const types = [...this.after.keys()];
    return { types, after: [...this.after.values()], unkeyed: types.map((t) => this.unkeyed.has(t)) };
  }

  /**
   * The claimed jobs in the order to start them: keys take turns (the claim's own order runs by age,
   * which would start one key's share before the next key's).
   */
  order<J extends { type: string; fairness_key?: string | null }>(jobs: J[]): J[] {
    if (this.after.size === 0) return jobs;
    const turns = new Map<string, J[]>();
    for (const job of jobs) {
      const key = this.after.has(job.type) ? `${job.type}\0${job.fairness_key ?? ''}` : job.type;
      let queue = turns.get(key);
      if (!queue) turns.set(key, (queue = []));
      queue.push(job);
    }
    const ordered: J[] = [];
    for (let round = 0; ordered.length < jobs.length; round++) {
      for (const queue of turns.values()) if (round < queue.length) ordered.push(queue[round]!);
    }
    return ordered;
  }

  /** Moves each fair type's cursor to the last key (in visiting order) that the claim served. */
  served(jobs: readonly { type: string; fairness_key?: string | null }[]): void {
    if (this.after.size === 0) return;
    const withoutKey = new Set(jobs.filter((j) => this.after.has(j.type) && j.fairness_key == null).map((j) => j.type));
    for (const type of this.unkeyed) if (!withoutKey.has(type) && jobs.some((j) => j.type === type)) this.unkeyed.delete(type);
    const last = new Map<string, { wrapped: string | null; ahead: string | null }>();
    for (const job of jobs) {
      const from = this.after.get(job.type);
      const key = job.fairness_key;
      if (from === undefined || key == null) continue;
      const seen = last.get(job.type) ?? { wrapped: null, ahead: null };
      // Keys after the cursor were visited first; keys at or before it came after the wrap.
      if (key > from) seen.ahead = seen.ahead === null || key > seen.ahead ? key : seen.ahead;
      else seen.wrapped = seen.wrapped === null || key > seen.wrapped ? key : seen.wrapped;
      last.set(job.type, seen);
    }
    for (const [type, seen] of last) this.after.set(type, seen.wrapped ?? seen.ahead!);
  }
}
