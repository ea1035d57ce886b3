import { getDeadline } from '@vercel/functions';
import { config } from '../queue/index.js';

/**
 * When a drain started now must be done: the invocation's deadline where the platform gives one
 * (getDeadline()), else now + DRAIN_MAX_DURATION_MS (the functions' maxDuration in vercel.json), minus
 * DRAIN_SAFETY_MARGIN_MS for the last write and the response.
 */
export function drainDeadline(start = Date.now()): number {
  const c = config();
  const platform = getDeadline();
  return (platform ? platform.getTime() : start + c.DRAIN_MAX_DURATION_MS) - c.DRAIN_SAFETY_MARGIN_MS;
}
