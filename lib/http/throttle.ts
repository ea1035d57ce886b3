import type { Context } from 'hono';
import { authFailureRecord, authThrottled } from '../queue/ops/queries-auth.js';
import type { SluiceEnv } from './app.js';
import { clientAddress } from './client-address.js';
import { orUnavailable } from './errors.js';
import type { RouteHost } from './host.js';

/**
 * The throttle of wrong secrets (docs/http-api.md): per client address, in Postgres (sluice.
 * auth_failures), so every serverless instance counts together. Per address and not per secret or
 * account, so an attacker elsewhere cannot lock the operator out: the right secret from an address
 * that has not used up its wrong ones always works. Right secrets are never counted.
 */

/** What a request sent: the right secret, a wrong one, or none at all (no guess: nothing to count). */
export type Attempt = 'right' | 'wrong' | 'none';

/** A refusal: the address has used up its wrong secrets; whole seconds until its window ends. */
export interface Throttled {
  retryAfterS: number;
}

/** Addresses this instance may have cleared at once, at most: the oldest is forgotten first. */
const CLEARED_MAX = 1_000;
/** Per instance (two instances in one process share nothing): address -> when it was last cleared. */
const clearedAt = new WeakMap<RouteHost, Map<string, number>>();

/**
 * Counts a wrong secret and says whether this request is refused. A wrong one past the limit, and the
 * right one from an address at the limit, are refused alike, so a throttled address learns nothing
 * from its guesses. A wrong secret is one upsert. A right one is a lookup, at most once per window
 * for each address on an instance: the cron's ticks come with the right secret every minute, and an
 * idle queue's must let the database sleep (lib/wake/idle.ts). An address that has shown it holds the
 * secret gains nothing by guessing; the price is that one throttled elsewhere within that window still
 * gets in here with the right secret. No secret, or SLUICE_AUTH_MAX_FAILURES 0: no statement. When the
 * database cannot answer: 503 whatever the secret (orUnavailable), so an outage neither lets guesses
 * through uncounted nor tells right from wrong.
 */
export async function throttle(c: Context<SluiceEnv>, attempt: Attempt): Promise<Throttled | null> {
  const { sluice } = c.var;
  const s = sluice.settings();
  if (attempt === 'none' || s.SLUICE_AUTH_MAX_FAILURES === 0) return null;
  const limit = { maxFailures: s.SLUICE_AUTH_MAX_FAILURES, windowMs: s.SLUICE_AUTH_FAILURE_WINDOW };
  const client = clientAddress(c);
  const cleared = clearedAt.get(sluice) ?? new Map<string, number>();
  clearedAt.set(sluice, cleared);
  const now = Date.now();
  if (attempt === 'right' && now - (cleared.get(client) ?? -Infinity) < limit.windowMs) return null;
  cleared.delete(client);
  const waitMs = await orUnavailable(async () => {
    if (attempt === 'right') return authThrottled(sluice.db, client, limit);
    const recorded = await authFailureRecord(sluice.db, client, limit);
    return recorded.failures > limit.maxFailures ? recorded.retry_after_ms : null;
  }, 'the secret throttle');
  if (attempt === 'right' && waitMs === null) {
    cleared.set(client, now);
    if (cleared.size > CLEARED_MAX) cleared.delete(cleared.keys().next().value!);
  }
  return waitMs === null ? null : { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
}
