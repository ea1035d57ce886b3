/** How long to wait before the next attempt. Exponential, capped, with "equal jitter". */
export interface BackoffPolicy {
  /** Delay after the first failed attempt. Default 1 s. */
  baseMs: number;
  /** Upper bound of any delay. Default 1 h. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 3_600_000 };

/**
 * Delay after `attempts` started runs have failed: base * 2^(attempts-1), capped at maxMs, of which
 * the upper half is random so that a burst of jobs failing together does not retry in lockstep.
 * `random` is injectable so the schedule can be tested exactly.
 */
export function backoffDelayMs(attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random = Math.random): number {
  const exponent = Math.max(0, attempts - 1);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
