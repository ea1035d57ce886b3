import { monotonicNow } from './clock.js';

/**
 * Waits for `work` until `deadline` at most; a failure of `work` before then is thrown. The timer alone
 * ends the wait, with no look at the clock: firing a millisecond early only returns that much early.
 */
export async function untilDeadline(deadline: number, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - monotonicNow())); });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // finishing late is fine; failing late has no one left to tell
  }
}
