// What the chaos suite's handlers share (npm run chaos): every run is logged, synchronously, to the
// process's own file before it starts and when it ends, so a SIGKILL loses no line that matters.
import { appendFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Db, JobContext } from '../lib/queue/index.js';

let logFile = '';
/** Where this process logs its runs: one file per drain process. */
export const logRunsTo = (file: string) => (logFile = file);
const log = (line: string) => logFile && appendFileSync(logFile, `${line}\n`);

export const pause = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});
export const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

/**
 * Wraps a handler so its start and end are logged: start <id> <type> <attempt> <pid> <ms>, then end <id>
 * <how> <pid> <ms> as its run ends: `ok` or `fail` as the handler settles, `wait` as the run lets go of
 * its job to wait for a child or an event (its handler never settles then), `abort` as its signal fires
 * for any other reason (a handler that does not settle then is abandoned by the drain). A handler that
 * settles after its signal logs its end once more, which stands (check.ts' parseLogs).
 */
export function logged<P, R>(type: string, body: (payload: P, ctx: JobContext) => Promise<R>) {
  return async (payload: P, ctx: JobContext): Promise<R> => {
    const end = (how: 'ok' | 'fail' | 'wait' | 'abort') => log(`end ${ctx.job.id} ${how} ${process.pid} ${Date.now()}`);
    log(`start ${ctx.job.id} ${type} ${ctx.job.attempt} ${process.pid} ${Date.now()}`);
    // The reason run-job.ts gives a run that goes waiting (not exported: matched by its message).
    const abort = () => end((ctx.signal.reason as Error | undefined)?.message === 'the job is waiting' ? 'wait' : 'abort');
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      const value = await body(payload, ctx);
      end('ok');
      return value;
    } catch (error) {
      end('fail');
      throw error;
    } finally {
      ctx.signal.removeEventListener('abort', abort);
    }
  };
}

// Non-poison jobs get attempts to spare: kills and lease losses spend attempts too.
export const spare = { maxAttempts: 40, backoff: { baseMs: 50, maxMs: 1_000 } };

/** Jobs that fail every time must end dead after exactly this many attempts. */
export const POISON_ATTEMPTS = 3;

/** A step's effect: a row of chaos_effects, written in the transaction that records the step, so never twice. */
export async function effect(tx: Db, jobId: string, step: string): Promise<void> {
  await tx.execute(sql`insert into chaos_effects (job_id, step) values (${jobId}::uuid, ${step})`);
}
