// The chaos suite's invariants, checked on the run logs, the fault log and the database once a clean
// drain has emptied the queue.
import type { Fault } from './faults.js';

type Outcome = 'ok' | 'fail' | 'wait' | 'abort';

export interface Run {
  id: string;
  type: string;
  attempt: number;
  pid: number;
  start: number;
  /** How it ended (handlers.ts' logged): its handler settled, it went waiting, or its signal fired. */
  end?: { outcome: Outcome; at: number };
}

export interface Pass {
  pid: number;
  deadline: number;
  returned: number;
  ok: boolean;
}

/** Runs (by job id, in start order) and passes from the drain processes' log lines. */
export function parseLogs(lines: string[]): { runs: Map<string, Run[]>; passes: Pass[] } {
  const runs = new Map<string, Run[]>();
  const passes: Pass[] = [];
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'start') {
      const run: Run = { id: f[1]!, type: f[2]!, attempt: Number(f[3]), pid: Number(f[4]), start: Number(f[5]) };
      runs.set(run.id, [...(runs.get(run.id) ?? []), run]);
    } else if (f[0] === 'end') {
      // The latest run of that job in that process not yet ended, or whose end was its signal (its
      // handler may settle after it: that end stands).
      const run = runs.get(f[1]!)?.findLast((r) => r.pid === Number(f[3]) && (r.end === undefined || r.end.outcome === 'wait' || r.end.outcome === 'abort'));
      if (run) run.end = { outcome: f[2] as Outcome, at: Number(f[4]) };
    } else if (f[0] === 'pass') {
      passes.push({ pid: Number(f[1]), deadline: Number(f[2]), returned: Number(f[3]), ok: f[4] === 'ok' });
    }
  }
  for (const list of runs.values()) list.sort((a, b) => a.start - b.start);
  return { runs, passes };
}

const RANK = ['kill', 'stop', 'restart', 'lock', 'stall', 'terminate'] as const;

/**
 * Runs that repeat one that did not end in a handler failure or a wait (a failure's rerun is a retry): each must
 * follow a fault that hit the earlier run's process (killed, stopped, its backend terminated or stalled)
 * or every process (a restart, the table lock) between the earlier run's claim and the repeat: a job
 * is held, its lease renewed, from its claim, which is at most `heldBeforeStartMs` before its start. Returns the unexplained ones and
 * the count explained per fault kind.
 */
export function repeats(runs: Map<string, Run[]>, faults: Fault[], heldBeforeStartMs: number) {
  const explainedBy: Record<string, number> = {};
  const unexplained: { id: string; first: Run; again: Run }[] = [];
  let total = 0;
  for (const [id, list] of runs) {
    for (let i = 1; i < list.length; i++) {
      const first = list[i - 1]!;
      const again = list[i]!;
      // A failed (or abandoned) run's rerun is a retry, and a waiting job's the run after its wake, unless
      // the two overlapped (a run that lost its lease ends too, and its job may have started elsewhere meanwhile).
      if (first.end !== undefined && first.end.outcome !== 'ok' && first.end.at <= again.start) continue;
      total++;
      // From when the drain may have claimed the job (a lease before its start), to the repeat.
      const hits = faults.filter((f) => (f.pid === null || f.pid === first.pid) && f.to >= first.start - heldBeforeStartMs && f.from <= again.start);
      // The most direct cause is named: a dead or frozen process before a database-wide fault, before a dropped connection.
      const cause = RANK.map((kind) => hits.find((f) => f.kind === kind)).find((f) => f !== undefined);
      if (cause) explainedBy[cause.kind] = (explainedBy[cause.kind] ?? 0) + 1;
      else unexplained.push({ id, first, again });
    }
  }
  return { total, explainedBy, unexplained };
}

/** How far past its deadline each pass returned, leaving out passes of a process stopped (SIGSTOP) meanwhile. */
export function deadlineOverruns(passes: Pass[], faults: Fault[]): number[] {
  return passes
    .filter((p) => !faults.some((f) => f.kind === 'stop' && f.pid === p.pid && f.to >= p.deadline - 10_000 && f.from <= p.returned))
    .map((p) => p.returned - p.deadline);
}
