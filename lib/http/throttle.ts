import type { Context } from 'hono';
import { isIP } from 'node:net';
import { authFailureRecord, authThrottled } from '../queue/queries-auth.js';
import type { Sluice } from '../sluice.js';
import type { SluiceEnv } from './app.js';
import { orUnavailable } from './errors.js';

/**
 * The throttle of wrong secrets (README "HTTP API"): per client address, in Postgres (sluice.
 * auth_failures), so every serverless instance counts together. Per address and not per secret or
 * account, so an attacker elsewhere cannot lock the operator out: the right secret from an address
 * that has not used up its wrong ones always works. Right secrets are never counted.
 */

/** What a request sent: the right secret, a wrong one, or none at all (no guess: nothing to count). */
export type Attempt = 'right' | 'wrong' | 'none';

/**
 * IPv4 as it is; IPv6 by its /64, which one host or customer holds whole (counting single addresses
 * would give each attacker 2^64 fresh ones); an IPv4 address mapped into IPv6 as IPv4; else null.
 */
export function addressKey(raw: string | undefined): string | null {
  const ip = raw?.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '') ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) === 4) return ip;
  if (isIP(ip) !== 6) return null;
  const [head = '', tail] = ip.split('::');
  const [h, t] = [head, tail ?? ''].map((part) => (part ? part.split(':') : []));
  // "::" stands for the zero groups the others leave of eight (an IPv4 tail, a.b.c.d, is two of them).
  const zeros = tail === undefined ? 0 : 8 - h!.length - t!.length - (t!.at(-1)?.includes('.') ? 1 : 0);
  const groups = [...h!, ...Array<string>(zeros).fill('0'), ...t!];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * The client's address, as the platform knows it: the adapter's own (a Node socket, Lambda's
 * sourceIp), else X-Real-IP, else the first hop of X-Forwarded-For, which Vercel sets itself (a
 * client's own value is dropped). A request with none of them counts under "unknown".
 */
export function clientAddress(c: Context<SluiceEnv>): string {
  const forwarded = c.req.header('x-forwarded-for')?.split(',')[0];
  for (const raw of [c.env?.clientAddress, c.req.header('x-real-ip'), forwarded]) {
    const key = addressKey(raw);
    if (key) return key;
  }
  return 'unknown';
}

/** A refusal: the address has used up its wrong secrets; whole seconds until its window ends. */
export interface Throttled {
  retryAfterS: number;
}

/**
 * Counts a wrong secret and says whether this request is refused. A wrong one past the limit, and the
 * right one from an address at the limit, are refused alike, so a throttled address learns nothing
 * from its guesses. One statement (a lookup for the right secret, an upsert for a wrong one), none for
 * no secret or with SLUICE_AUTH_MAX_FAILURES 0. When the database cannot answer: 503 whatever the
 * secret (orUnavailable), so an outage neither lets guesses through uncounted nor tells right from wrong.
 */
export async function throttle(c: Context<SluiceEnv>, sluice: Sluice, attempt: Attempt): Promise<Throttled | null> {
  const s = sluice.settings();
  if (attempt === 'none' || s.SLUICE_AUTH_MAX_FAILURES === 0) return null;
  const limit = { maxFailures: s.SLUICE_AUTH_MAX_FAILURES, windowMs: s.SLUICE_AUTH_FAILURE_WINDOW };
  const client = clientAddress(c);
  const waitMs = await orUnavailable(async () => {
    if (attempt === 'right') return authThrottled(sluice.db, client, limit);
    const recorded = await authFailureRecord(sluice.db, client, limit);
    return recorded.failures > limit.maxFailures ? recorded.retry_after_ms : null;
  }, 'the secret throttle');
  return waitMs === null ? null : { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
}
