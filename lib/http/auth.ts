import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { SluiceEnv } from './app.js';
import { HttpError } from './errors.js';
import { throttle, type Attempt, type Throttled } from './throttle.js';

export type SecretName = 'ENQUEUE_SECRET' | 'ADMIN_SECRET' | 'CRON_SECRET' | 'DRAIN_SECRET' | 'HEALTH_SECRET';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The bearer token of `Authorization: Bearer <token>`, or undefined. */
function bearer(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}

/** Whether `token` is one of the secret's values (constant time, see bearerMatches). */
function tokenMatches(token: string, secret: string): boolean {
  const sent = digest(token);
  let match = false;
  for (const value of new Set([secret, ...secret.split(',')])) match = timingSafeEqual(sent, digest(value)) || match;
  return match;
}

/**
 * Whether `header` carries one of the secret's values. A variable may hold two values, "new,old",
 * while a secret is rotated; the whole value is accepted too, because Vercel Cron sends CRON_SECRET's
 * value as it is. Compared in constant time on SHA-256 digests (neither content nor length leaks
 * through timing), and always against every value, so which one matched does not leak either.
 */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  return bearerAttempt(header, secret) === 'right';
}

/** What `header` sent: the right secret, a wrong one, or no bearer token at all. */
export function bearerAttempt(header: string | undefined, secret: string): Attempt {
  const token = bearer(header);
  if (token === undefined) return 'none';
  return tokenMatches(token, secret) ? 'right' : 'wrong';
}

/**
 * Requires `Authorization: Bearer <secret>` where the secret is the first of `names` that is set.
 * None set: 500 naming the variable (a route never runs open). Wrong or missing: 401. An address that
 * has sent too many wrong secrets: 429 with Retry-After, whatever this one sent (lib/http/throttle.ts).
 */
export async function authorize(c: Context<SluiceEnv>, ...names: [SecretName, ...SecretName[]]): Promise<void> {
  const secret = names.map((n) => c.var.sluice.settings()[n]).find((v) => v !== undefined);
  if (secret === undefined) {
    throw new HttpError(500, `server misconfigured: ${names.join(' (or ')}${')'.repeat(names.length - 1)} is not set`);
  }
  const attempt = bearerAttempt(c.req.header('authorization'), secret);
  const throttled = await throttle(c, attempt);
  if (throttled) throw tooManyAttempts(throttled);
  if (attempt !== 'right') {
    throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <secret>)');
  }
}

/** The 429 of an address that has used up its wrong secrets. */
export function tooManyAttempts({ retryAfterS }: Throttled): HttpError {
  return new HttpError(429, `too many wrong secrets from this address; try again in ${retryAfterS} s`, {}, { 'Retry-After': String(retryAfterS) });
}
