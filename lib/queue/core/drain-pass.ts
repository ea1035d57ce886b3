import { randomUUID } from 'node:crypto';
import { DRAIN_DEFAULTS } from '../config.js';
import type { Db } from '../db.js';
import type { JobDefinition } from './jobs.js';
import { type Held, LeaseKeeper } from './lease-keeper.js';
import { type ClaimResult, jobClaim, jobsOfClaim, jobWriteOutcomes, type Outcome } from './queries-drain.js';
import { isConnectionError, isTransient } from '../db-errors.js';
import { flowLimitsOf, type FlowLimits } from './queries-flow.js';
import { drainMarkOk } from './queries-coordination.js';
import { untilDeadline } from '../deadline.js';
import type { DrainSummary, LivePass, PassSettings } from './pass-types.js';
import { PassTrace } from './pass-trace.js';
import { failure, logDead, runJob } from './run-job.js';
import type { RunLimits } from './run-context.js';
import { HistoryBatch, type HistoryRow } from '../housekeeping/history.js';
import { isDataError, setAsideClaimHead, writeOutcomesApart } from './set-aside.js';
import { FairCursor } from './fair-cursor.js';
import { monotonicNow } from '../clock.js';
import { StepEstimates } from './step-fit.js';

/** A pass that narrows down this many failures on bad data gives up: something else is wrong. */
const MAX_NARROWINGS = 200;

/**
 * The state of one drain pass, as an event loop: every change (a claim answered, a job finished, the
 * stop time reached) wakes `run()`, which starts what can start, claims when the queue runs low and
 * stops when nothing is due, the deadline nears or maxJobs is reached.
 */
export class DrainPass implements LivePass {
  readonly summary: DrainSummary = { claimed: 0, completed: 0, retried: 0, dead: 0, rescued: 0, cancelled: 0, released: 0, handedBack: 0, waiting: 0, durationMs: 0, stoppedBy: 'empty' };
  private readonly byType: Map<string, JobDefinition>;
  private readonly flow: FlowLimits | null;
  private readonly fair: FairCursor;
  private readonly leases: LeaseKeeper;
  private readonly limits: RunLimits;

  private readonly queue: Held[] = []; // claimed, not started
  private outcomes: Outcome[] = []; // decided, not written
  private readonly history = new HistoryBatch(); // their sums for the history, written with them
  private running = 0;
  private finished = 0;
  private firstStart = 0;
  private readonly longestRun = new Map<string, number>(); // per type, this pass: how long a run may need
  private readonly onStop = new Set<() => void>(); // running jobs' abort functions

  private statements = 0; // claims and flushes on the wire
  private claims = 0; // claims on the wire
  private asked = 0; // jobs those claims asked for
  private exhausted = false; // the last claim got fewer jobs than it asked for
  // The last claim wrote give-backs (due at once), or outcomes that freed slots while jobs were held
  // back by a flow limit: worth one more claim when idle.
  private gaveBack = false;
  private windowTimer: NodeJS.Timeout | undefined; // a rate limit's window opens before stopAt: claim then
  private rescueDone = false;
  private housekeepingDone = false; // a claim has carried the housekeeping (if the pass has any)
  private drainMarked = false; // the last claim was empty and wrote the drain mark itself
  private soonestDue: number | null = null;
  private winding = false; // a job could not finish before stopAt: claim no more
  private stopReached = false; // the stop timer fired (see run())
  private closing = false;
  private failure: unknown;
  private transientErrors = 0;
  private lastConnectionError: unknown;
  private reached = false; // a statement of this pass has succeeded
  private backoffMs = 0; // the database dropped a statement: wait this long before the next one
  private backoffTimer: NodeJS.Timeout | undefined;
  private readonly lostClaims: string[] = []; // tokens of claims whose answer was lost: they may have leased jobs
  private trace: PassTrace | null = null; // set by run() when its drain span records: then claims and runs are spans too
  // A claim failed on its data (set-aside.ts): claims are bare (no outcomes, rescue or housekeeping)
  // and at most this big, halving on each failure until the bad row is the one job claimed.
  private probeLimit = Infinity;
  private deferring = false; // the last claim deferred jobs of full rate windows: claim big until past them
  private narrowings = 0;

  private readonly inFlight = new Set<Promise<unknown>>();
  private wake = () => {};
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    jobs: JobDefinition[],
    private readonly s: PassSettings,
  ) {
    this.byType = new Map(jobs.map((j) => [j.type, j]));
    const own = jobs.filter((j) => s.types.includes(j.type));
    this.flow = flowLimitsOf(own);
    this.fair = new FairCursor(own);
    this.leases = new LeaseKeeper(db, s.leaseGraceMs, this.flow !== null, this.onStop);
    this.limits = {
      stopAt: s.stopAt, settleMs: s.settleMs, maxStepBytes: s.maxStepBytes, maxResultBytes: s.maxResultBytes,
      passMs: s.stopAt - monotonicNow(), estimates: new StepEstimates(db, s.stepEstimatePercentile), jobs: this.byType,
    };
  }

  runningNow(): number {
    return this.running;
  }

  nextDueAt(): number | null {
    return this.soonestDue;
  }

  private noteDue(at: number): void {
    this.soonestDue = Math.min(this.soonestDue ?? at, at);
  }

  async run(): Promise<DrainSummary> {
    const traced = (this.trace = PassTrace.start(this.s, monotonicNow()));
    if (!traced) return this.pass();
    return traced.within(() => this.pass()).then(
      (summary) => { traced.end(summary); return summary; },
      (error: unknown) => { traced.end(undefined, error); throw error; },
    );
  }

  private async pass(): Promise<DrainSummary> {
    const start = monotonicNow();
    this.s.observe?.(this);
    // The timer's firing is the stop, not the clock reaching stopAt: Node truncates a fractional delay
    // and its timer clock is not ours, so it may fire a millisecond or two early. A loop that
    // re-checked the time would then wait again, on a claim that may not return before the deadline.
    const stopTimer = setTimeout(() => { this.stopReached = true; this.wake(); }, Math.max(0, this.s.stopAt - start));
    let stopped: DrainSummary['stoppedBy'] = 'deadline';
    try {
      for (;;) {
        if (this.failure !== undefined || this.stopping()) break;
        while (this.running < this.s.concurrency && this.queue.length > 0) this.startOrRelease(this.queue.shift()!);
        const idle = this.running === 0 && this.queue.length === 0 && this.statements === 0;
        const canClaim = this.summary.claimed + this.asked < this.s.maxJobs;
        if (canClaim && this.wantsClaim(idle)) {
          this.exhausted = false;
          this.track(this.claim().finally(() => this.claims--));
        } else if (idle && this.windowTimer === undefined && this.backoffTimer === undefined) {
          stopped = this.winding ? 'deadline' : canClaim ? 'empty' : 'maxJobs';
          break;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      clearTimeout(stopTimer);
      clearTimeout(this.windowTimer);
      clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
      await this.windDown();
    }
    if (this.failure !== undefined) throw this.failure;
    return { ...this.summary, stoppedBy: stopped, durationMs: monotonicNow() - start };
  }

  /** stopAt has come, by the stop timer or by the clock, whichever says so first. */
  private stopping(): boolean {
    return this.stopReached || monotonicNow() >= this.s.stopAt;
  }

  /**
   * Another claim, when the local queue runs low and fewer than the allowed claims are on the wire.
   * Fast jobs (a full batch fits in the lease grace) may have a second claim on the wire while the
   * first travels, hiding a round trip; slow jobs get one at a time so none waits long for a worker.
   * After a short claim, only an idle pass with outcomes (or give-backs) to write looks once more.
   */
  private wantsClaim(idle: boolean): boolean {
    const allowed = this.claimSize() >= this.s.batchSize ? 2 : 1;
    if (this.claims >= allowed || this.queue.length >= this.s.concurrency || this.winding || this.backoffTimer) return false;
    return !this.exhausted || (idle && (this.outcomes.length > 0 || this.gaveBack || this.lostClaims.length > 0));
  }

  /** Claims start at 2 x concurrency and grow with the job rate, to what can start within the lease grace. */
  private claimSize(): number {
    const elapsed = monotonicNow() - this.firstStart;
    const rate = this.finished > 0 && elapsed > 0 ? this.finished / elapsed : 0;
    const fit = this.deferring ? this.s.batchSize : rate ? Math.floor((rate * this.s.leaseGraceMs) / 2) : this.s.concurrency * 2;
    return Math.min(this.s.batchSize, this.s.maxJobs - this.summary.claimed - this.asked, Math.max(this.s.concurrency, fit), this.probeLimit);
  }

  private async claim(): Promise<void> {
    this.claims++;
    await this.adoptLostClaims();
    const limit = this.claimSize();
    this.asked += limit;
    const token = randomUUID();
    const bare = this.probeLimit < Infinity;
    // The first claim of a pass also finds expired leases (the rescue); their outcomes ride on the next.
    const rescueLimit = this.rescueDone || bare ? 0 : DRAIN_DEFAULTS.rescueLimit;
    this.rescueDone ||= !bare;
    // The housekeeping too, once; a claim that fails hands it on to the next.
    const housekeeping = this.housekeepingDone || bare ? undefined : this.s.housekeeping;
    this.housekeepingDone ||= !bare;
    // The lease is counted from when the claim was sent, by our clock: never later than the database's.
    const sentAt = monotonicNow();
    const sentAtWall = Date.now(); // for the idle hint's times, which other instances read
    const { flow, trace } = this;
    const leaseMs = this.s.leaseGraceMs;
    let result: ClaimResult;
    try {
      result = await this.send((outcomes, history) => {
        this.gaveBack = outcomes.some((o) => o.kind === 'release' && o.delay_ms == null);
        const params = { token, limit, types: this.s.types, app: this.s.app, leaseMs, outcomes, keepCompleted: this.s.keepCompleted, history, rescueLimit, flow, fair: this.fair.walk(), housekeeping: housekeeping?.params };
        if (!trace) return jobClaim(this.db, params);
        return trace.claim(limit, outcomes.length, () => jobClaim(this.db, { ...params, traced: true }));
      }, !bare);
    } catch (error) {
      // The answer is lost, but the claim may have committed: look for its jobs once the database answers.
      if (isConnectionError(error)) this.lostClaims.push(token);
      if (rescueLimit > 0) this.rescueDone = false; // the rescue goes with the next claim
      if (housekeeping) this.housekeepingDone = false;
      if (isDataError(error) && (await this.narrow(error, limit, bare))) return;
      throw error;
    } finally {
      this.asked -= limit;
    }
    this.probeLimit = Infinity; // a bare claim that worked: the bad row, if any, lies further on
    if (result.held_back) this.heldBack(result.written, result.rate_wait_ms);
    // Parents whose child ended are due now: the next claim takes them (not a later drain).
    if (result.delivered > 0) this.gaveBack = true;
    // Jobs deferred to their key's next window took places in this claim: the next one walks past them.
    if (result.deferred > 0) this.gaveBack = true;
    this.deferring = result.deferred > 0;
    if (housekeeping && result.housekeeping) housekeeping.onReport(result.housekeeping);
    if ((result.housekeeping?.waitsDue ?? 0) > 0) this.gaveBack = true; // waits timed out: due now
    for (const job of result.expired) {
      const why = 'lease expired: the drain running it crashed, was killed or overran';
      // A cancel asked for while it ran ends it cancelled, not retried (the write would make it so anyway).
      const outcome: Outcome = job.cancel
        ? { id: job.id, token: job.lock_token, kind: 'cancelled', error: why, rescue: true }
        : { ...failure(job, job.lock_token, this.byType.get(job.type), why), rescue: true };
      this.outcomes.push(outcome);
      this.history.rescued(job.type, outcome.kind);
      if (outcome.kind === 'retry') this.noteDue(Date.now() + (outcome.delay_ms ?? 0));
      else if (outcome.kind === 'dead') logDead(job, outcome);
    }
    this.summary.rescued += result.expired.length;
    if (result.expired.length > 0) this.scheduleFlush();
    this.drainMarked = result.drain_marked;
    if (result.next_due_ms !== null) this.noteDue(sentAtWall + Math.max(0, result.next_due_ms));
    this.summary.claimed += result.jobs.length;
    this.fair.served(result.jobs);
    for (const job of this.fair.order(result.jobs)) this.queue.push(this.leases.hold(job, token, sentAt + leaseMs));
    if (result.jobs.length < limit) this.exhausted = true;
  }

  /**
   * A claim failed on the data it met (set-aside.ts). Outcomes it carried are written one by one (a bad
   * one is set aside); then claims go bare, halving, until a claim of one fails: that job is set aside.
   * Whether the pass can go on (false: the failure is not one row's, or it keeps failing).
   */
  private async narrow(error: unknown, limit: number, bare: boolean): Promise<boolean> {
    if (++this.narrowings > MAX_NARROWINGS) return false;
    if (!bare) await this.writeApart(); // a bare claim carried none
    if (!bare) this.probeLimit = limit;
    else if (limit > 1) this.probeLimit = Math.max(1, Math.floor(limit / 2));
    else if ((await setAsideClaimHead(this.db, this.s.types, error)) === null) return false;
    else this.probeLimit = Infinity;
    this.exhausted = false;
    return true;
  }

  /** Writes the buffered outcomes one at a time, after a statement carrying them failed on its data. */
  private async writeApart(): Promise<void> {
    const batch = this.outcomes.splice(0);
    this.history.take(); // an operator's view: a batch that failed is not worth a row of its own
    if (batch.length === 0) return;
    this.statements++;
    try {
      for (const o of await writeOutcomesApart(this.db, batch, this.flow, this.s.keepCompleted)) this.leases.drop(o.id, o.token);
    } catch (error) {
      this.outcomes.push(...batch);
      throw error;
    } finally {
      this.statements--;
    }
  }

  /**
   * Takes up the jobs of claims whose answer a dropped connection lost, if they committed. The tokens
   * leave the list before the lookups, so two claims on the wire never adopt one claim twice; a lookup
   * that fails puts back what it did not look up.
   */
  private async adoptLostClaims(): Promise<void> {
    const tokens = this.lostClaims.splice(0);
    for (let i = 0; i < tokens.length; i++) {
      const sentAt = monotonicNow();
      let jobs: Awaited<ReturnType<typeof jobsOfClaim>>;
      try {
        jobs = await jobsOfClaim(this.db, tokens[i]!);
      } catch (error) {
        this.lostClaims.push(...tokens.slice(i));
        throw error;
      }
      this.summary.claimed += jobs.length;
      for (const { lease_left_ms, ...job } of jobs) this.queue.push(this.leases.hold(job, tokens[i]!, sentAt + lease_left_ms));
    }
  }

  /**
   * Due jobs were left pending by a flow limit. Outcomes this claim wrote freed concurrency slots its
   * snapshot still saw held: claim once more. A rate window that opens before stopAt: claim then (the
   * pass stays alive for it); later ones go to the idle hint, for a tick.
   */
  private heldBack(written: number, rateWaitMs: number | null): void {
    if (written > 0) this.gaveBack = true;
    if (rateWaitMs === null) return;
    const at = monotonicNow() + Math.max(1, rateWaitMs);
    this.noteDue(Date.now() + Math.max(1, rateWaitMs));
    if (at >= this.s.stopAt || this.windowTimer !== undefined) return;
    this.windowTimer = setTimeout(() => {
      this.windowTimer = undefined;
      this.exhausted = false;
      this.wake();
    }, at - monotonicNow());
  }

  /**
   * Starts a job, or gives it back unstarted (attempt returned) when it could not finish in time: its
   * lease no longer covers a full timeout (it waited too long in the queue; another drain may rescue
   * it), or a run of its type has taken longer than what is left before stopAt.
   */
  private startOrRelease(held: Held): void {
    const { job, token } = held;
    if (held.lost) return this.leases.drop(job.id, token); // another run has it now
    if (held.cancelled) return this.record({ id: job.id, token, kind: 'cancelled' });
    const definition = this.byType.get(job.type);
    const now = monotonicNow();
    // Less than a heartbeat interval of lease left means heartbeats are failing: the job may be
    // rescued elsewhere any moment, so it goes back rather than run twice.
    const leaseGone = held.leaseEnd - now < this.s.leaseGraceMs / 3;
    const tooLate = now + (this.longestRun.get(job.type) ?? 0) > this.s.stopAt;
    if (leaseGone || tooLate) {
      this.winding ||= tooLate;
      this.record({ id: job.id, token, kind: 'release' });
      return;
    }
    this.running++;
    this.firstStart ||= now;
    held.startedAt = now;
    // runJob never rejects, so a run needs no tracking of its own: `running` counts it until it ends.
    // Untraced, no closure: this line runs for every job.
    const { trace } = this;
    const ran = trace ? trace.job(job, () => runJob(job, token, definition, this.db, this.limits, held)) : runJob(job, token, definition, this.db, this.limits, held);
    void ran.then((outcome) => {
      this.running--;
      this.finished++;
      const ranMs = monotonicNow() - now;
      this.longestRun.set(job.type, Math.max(this.longestRun.get(job.type) ?? 0, ranMs));
      this.history.ran(job.type, outcome.kind, ranMs, job.lag_ms);
      if (outcome.kind === 'dead') logDead(job, outcome);
      this.record(outcome);
      // The freed slot takes the next queued job here; the loop is woken only when the queue runs
      // low (time to claim) or the pass may be done, not once per job.
      if (!this.closing && this.queue.length > this.s.concurrency && !this.stopping()) {
        this.startOrRelease(this.queue.shift()!);
      }
      // A slot still free (the job was given back, not started) or a short queue: the loop decides.
      if (this.running < this.s.concurrency || this.queue.length <= this.s.concurrency) this.wake();
    });
  }

  /**
   * Buffers an outcome, counts it, and makes sure it is written within flushDelayMs. A run handed back
   * because the drain stops too soon for its next step ends the pass's claims: its job needs a fresh
   * invocation, which the wake starts once this pass ends (a hand-back counts as progress).
   */
  private record(outcome: Outcome): void {
    if (outcome.kind === 'waiting') {
      // Written by the run: only its lease to let go of. Its children may be due now: claim again. When
      // its wait ends (a timeout) goes to the idle hint, so a tick then looks.
      this.leases.drop(outcome.id, outcome.token);
      this.summary.waiting++;
      this.noteDue(Date.now() + (outcome.delay_ms ?? 0));
      this.gaveBack = true;
      return;
    }
    this.outcomes.push(outcome);
    if (outcome.kind === 'retry' || outcome.kind === 'release') this.noteDue(Date.now() + (outcome.delay_ms ?? 0));
    if (outcome.kind === 'done') this.summary.completed++;
    else if (outcome.kind === 'dead') this.summary.dead++;
    else if (outcome.kind === 'retry') this.summary.retried++;
    else if (outcome.kind === 'cancelled') this.summary.cancelled++;
    else this.summary.released++;
    if (outcome.handedBack) this.summary.handedBack++;
    this.winding ||= outcome.handedBack === 'stop';
    this.scheduleFlush();
  }

  // Outcomes wait for the next claim to carry them, but never longer than flushDelayMs.
  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      if (this.outcomes.length > 0 && !this.closing) {
        // If the write fails its outcomes are back in the buffer: try again after another delay.
        this.track(this.send((o, h) => jobWriteOutcomes(this.db, o, this.flow, h, this.s.keepCompleted)).then(({ delivered }) => { if (delivered > 0) this.gaveBack = true; }, (error) => {
          if (isDataError(error) && ++this.narrowings <= MAX_NARROWINGS) return this.writeApart();
          this.scheduleFlush();
          throw error;
        }));
      }
    }, DRAIN_DEFAULTS.flushDelayMs);
  }

  /**
   * Sends the buffered outcomes and their history sums with a statement; on failure both go back to the
   * buffer (outcome writes are idempotent; the sums of a statement that committed but whose answer was
   * lost are counted twice: the history is an operator's view, not a ledger).
   */
  private async send<T>(statement: (outcomes: Outcome[], history: HistoryRow[]) => Promise<T>, carry = true): Promise<T> {
    const batch = carry ? this.outcomes : [];
    if (carry) this.outcomes = [];
    const history = carry ? this.history.take() : [];
    this.statements++;
    try {
      const result = await statement(batch, history);
      this.backoffMs = 0;
      this.reached = true;
      for (const o of batch) this.leases.drop(o.id, o.token); // written: its lease needs no more heartbeats
      return result;
    } catch (error) {
      this.outcomes.push(...batch);
      this.history.restore(history);
      throw error;
    } finally {
      this.statements--;
    }
  }

  /** A dropped connection or a restarting server: the next statement waits 50 ms, doubling to 1 s. */
  private backOff(error: unknown): void {
    this.lastConnectionError = error;
    if (this.closing) return; // the pass is over: no timer may outlive it
    this.backoffMs = Math.min(1_000, Math.max(50, this.backoffMs * 2));
    clearTimeout(this.backoffTimer);
    this.backoffTimer = setTimeout(() => { this.backoffTimer = undefined; this.wake(); }, this.backoffMs);
  }

  /** Follows a promise: wakes the loop when it settles and keeps its failure for run() to throw. */
  private track(p: Promise<unknown>): void {
    // A dropped connection only delays a statement (its outcomes went back to the buffer): it goes again
    // after a backoff, on a fresh connection, while handlers keep running. A deadlock or serialization
    // failure is retried a few times; more than that and something is wrong with the database.
    const settled = p
      .catch((error) => {
        if (isConnectionError(error)) this.backOff(error);
        else if (!isTransient(error) || ++this.transientErrors > 5) this.failure ??= error;
      })
      .finally(() => { this.inFlight.delete(settled); this.wake(); });
    this.inFlight.add(settled);
  }

  /**
   * Stops: signals running handlers, waits for them and for statements on the wire, gives back what
   * never started, writes the rest. All by the deadline: past it the function may be frozen, and
   * whatever is unwritten then (the pool may be busy with handlers' queries) is left to the leases.
   */
  private async windDown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.flushTimer);
    for (const abort of this.onStop) abort();
    try {
      await untilDeadline(this.s.deadline, (async () => {
        while (this.inFlight.size > 0 || this.running > 0) {
          await new Promise<void>((resolve) => (this.wake = resolve)); // every run and statement ending wakes this
        }
        for (const h of this.queue.splice(0)) if (!h.lost) this.record({ id: h.job.id, token: h.token, kind: 'release' });
        clearTimeout(this.flushTimer);
        // Dropped connections are waited out until the deadline; past it the leases settle what is left.
        while (this.outcomes.length > 0 && monotonicNow() < this.s.deadline) {
          try {
            await this.send((o, h) => jobWriteOutcomes(this.db, o, this.flow, h, this.s.keepCompleted));
          } catch (error) {
            if (isConnectionError(error)) {
              this.lastConnectionError = error;
              await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, this.s.deadline - monotonicNow()))));
            } else if (isDataError(error) && ++this.narrowings <= MAX_NARROWINGS) await this.writeApart();
            else if (!isTransient(error) || ++this.transientErrors > 5) throw error;
          }
        }
        // The dead-man switch's drain mark (/api/health): this pass ended well. If the write itself fails
        // the mark is simply missed; a database that keeps failing trips the switch, as it should.
        // An empty last claim wrote it already: one statement for an empty pass.
        if (this.failure === undefined && !this.drainMarked) await drainMarkOk(this.db, this.s.app).catch(() => {});
      })());
    } finally {
      // A claim answering after the deadline must not restart the heartbeats: they would renew its
      // jobs for as long as the process lives.
      this.leases.close();
    }
    // A database unreachable until the deadline kept outcomes unwritten, or was never reached at all:
    // the pass ended early, and says why (an empty pass would look like a quiet queue).
    if (this.lastConnectionError !== undefined && (this.outcomes.length > 0 || !this.reached)) this.failure ??= this.lastConnectionError;
  }
}
