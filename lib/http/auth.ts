import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../queue/index.js';
import { HttpError } from './errors.js';

export type SecretName = 'ENQUEUE_SECRET' | 'ADMIN_SECRET' | 'CRON_SECRET' | 'DRAIN_SECRET' | 'HEALTH_SECRET';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The bearer token of `Authorization: Bearer <token>`, or undefined. */
function bearer(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}

/**
 * Whether `header` carries one of the secret's values. A variable may hold two values, "new,old",
 * while a secret is rotated; the whole value is accepted too, because Vercel Cron sends CRON_SECRET's
 * value as it is. Compared in constant time on SHA-256 digests (neither content nor length leaks
 * through timing), and always against every value, so which one matched does not leak either.
 */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  const token = bearer(header);
  if (token === undefined) return false;
  const sent = digest(token);
  let match = false;
  for (const value of new Set([secret, ...secret.split(',')])) match = timingSafeEqual(sent, digest(value)) || match;
  return match;
}

/**
 * Requires `Authorization: Bearer <secret>` where the secret is the first of `names` that is set.
 * None set: 500 naming the variable (a route never runs open). Wrong or missing: 401.
 */
export function authorize(header: string | undefined, settings: Config, ...names: [SecretName, ...SecretName[]]): void {
  const secret = names.map((n) => settings[n]).find((v) => v !== undefined);
  if (secret === undefined) {
    throw new HttpError(500, `server misconfigured: ${names.join(' (or ')}${')'.repeat(names.length - 1)} is not set`);
  }
  if (!bearerMatches(header, secret)) {
    throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <secret>)');
  }
}
