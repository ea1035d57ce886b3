import { getDeadline } from '@vercel/functions';
import type { Config } from '../queue/index.js';
import { log } from '../queue/log.js';
import { kickClaim, kickRelease } from '../queue/core/queries-coordination.js';
import type { WakeRuntime } from './runtime.js';
import { tick, type TickHost } from './tick.js';

/**
 * When a drain in this invocation must be done: the platform's deadline (the adapter's, else Vercel's
 * getDeadline()), else now + DRAIN_MAX_DURATION_MS, less DRAIN_SAFETY_MARGIN_MS for the last write.
 */
export function invocationDeadline(s: Config, platform?: number, start = Date.now()): number {
  return (platform ?? getDeadline()?.getTime() ?? start + s.DRAIN_MAX_DURATION_MS) - s.DRAIN_SAFETY_MARGIN_MS;
}

/**
 * Kicks: a short drain right after an enqueue, instead of at the next tick. They coalesce: while this
 * instance's kick drain runs, further kicks only ask it for one more pass when it ends (a job
 * committed after its last claim still gets one), so a burst of enqueues starts one drain per
 * instance, not one per job. Where nothing may run after the response (Lambda), a kick starts a drain
 * elsewhere, and kicks from every instance of the app coalesce on its apps.kick_sent_at instead.
 * A kick that fails loses nothing: the job stays pending for the next tick.
 */
export class Kicker {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly host: TickHost) {}

  kick(runtime: WakeRuntime, deadline: number): Promise<void> {
    if (!this.host.settings().SLUICE_KICK) return Promise.resolve();
    if (!runtime.runsAfterResponse) return this.kickElsewhere(runtime);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      // Not a moment before the response: the caller returns it first, then the drain builds its claim.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        do {
          this.again = false;
          await tick(this.host, { reason: 'kick', deadline, runtime });
        } while (this.again && Date.now() < deadline);
      } catch (error) {
        log.warn('kick drain failed (the next tick drains instead)', { error });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async kickElsewhere(runtime: WakeRuntime): Promise<void> {
    if (!runtime.startDrain) return;
    let sentAt: string | null = null;
    try {
      // A kick sent within a drain's lifetime whose drain has not yet found the queue empty covers this one.
      sentAt = await kickClaim(this.host.db(), this.host.scope().app, this.host.settings().DRAIN_MAX_DURATION_MS + 5_000);
      if (sentAt === null) return;
      await runtime.startDrain({ reason: 'kick', hop: 0, slot: null });
    } catch (error) {
      log.warn('kick failed (the next tick drains instead)', { error });
      // Not sent: the next enqueue's kick may try again at once, rather than wait out the mark.
      if (sentAt !== null) await kickRelease(this.host.db(), this.host.scope().app, sentAt).catch(() => {});
    }
  }
}
