/**
 * Whether a step fits in what is left of its run. (An invoke or a wait needs no estimate: it writes its
 * record and lets go of the job at once, holding no invocation while its child runs or its event comes.)
 * A step is held back, its job handed back to go on in a fresh invocation, when its estimate would carry it past
 * the drain's stop time or the job's timeout. The estimate is a percentile of the step name's earlier
 * runs, kept durably per job type (queries-step-timings.ts) and read once per type per drain pass; a
 * name with no history is measured by the longest step this run has finished, if any.
 */
import type { Db } from '../db.js';
import { log } from '../log.js';
import { stepEstimatesOfType } from './queries-step-timings.js';

/**
 * A run that has finished nothing is handed back only if a fresh run would fit the call, reaching it
 * after as long as this run took to, within this share of its time: a fresh run that starts in the
 * first tenth of its drain then fits it, so a job is not handed back from drain to drain without a
 * step in between. Otherwise the call runs (handing it back would not make it fit anywhere), as it
 * would without an estimate; a run cut off with nothing finished spends its attempt.
 */
const FRESH_SHARE = 0.9;

/** A step name's kept history, as a pass reads it. */
export interface StepHistory {
  /** The percentile's value of its kept runs, ms. */
  estimateMs: number;
  /** How many runs that is of. */
  runs: number;
  /** Which percentile (1-100). */
  percentile: number;
}

/** One drain pass's estimates: each job type's are read once, on its first run that uses steps. */
export class StepEstimates {
  private readonly byType = new Map<string, Promise<ReadonlyMap<string, StepHistory>>>();

  /** `percentile`: 1-100 of a step name's kept runs; 0 reads none (this run's longest step alone counts). */
  constructor(
    private readonly db: Db,
    private readonly percentile: number,
  ) {}

  /** The estimates of a type's step names; never rejects (a failed read leaves the pass without history). */
  of(type: string): Promise<ReadonlyMap<string, StepHistory>> {
    let estimates = this.byType.get(type);
    if (estimates === undefined) {
      estimates = this.percentile <= 0
        ? Promise.resolve(new Map())
        : stepEstimatesOfType(this.db, type, this.percentile / 100).then(
          (list) => new Map(list.map((e) => [e.step, { estimateMs: e.estimate_ms, runs: e.runs, percentile: this.percentile }])),
          (error: unknown) => {
            log.warn('could not read step durations: this pass holds steps back by their run\'s longest step alone', { type, error });
            return new Map();
          },
        );
      this.byType.set(type, estimates);
    }
    return estimates;
  }
}

/** What a run knows of its time (monotonic ms, clock.ts). */
export interface RunTime {
  /** When the run started. */
  startedAt: number;
  /** When what it starts must have ended: the drain's stop time or the job's timeout, whichever is first. */
  endsAt: number;
  /** Which of the two that is. */
  endsBy: 'stop' | 'timeout';
  /** What a fresh run would have: the lesser of a whole pass's running time and the job's timeoutMs. */
  freshMs: number;
}

/** A call about to start, and what is known of it. */
export interface Call {
  /** The step's (invoke's, wait's) name. */
  name: string;
  /** Its kept history, if any. */
  history: StepHistory | undefined;
  /** The longest step this run has finished, ms (0: none). */
  longestThisRunMs: number;
  /** Whether this run has finished a step (or slept): handing back then loses no work. */
  progressed: boolean;
}

/** Why a call is held back: what the log line and the job's last_error say. */
export interface HeldBack {
  estimateMs: number;
  leftMs: number;
  /** Where the estimate comes from, in words. */
  basis: string;
}

/** Whether `call`, started `now`, would not end in time and handing the job back is worth it; null: start it. */
export function holdBack(call: Call, time: RunTime, now: number): HeldBack | null {
  const { history } = call;
  const estimateMs = history?.estimateMs ?? call.longestThisRunMs;
  const leftMs = time.endsAt - now;
  if (estimateMs <= 0 || estimateMs <= leftMs) return null;
  if (!call.progressed && now - time.startedAt + estimateMs > FRESH_SHARE * time.freshMs) return null;
  const basis = history ? `p${history.percentile} of its last ${history.runs} run(s)` : 'the longest step of this run';
  return { estimateMs: Math.round(estimateMs), leftMs: Math.max(0, Math.round(leftMs)), basis };
}
