import { createHash, timingSafeEqual } from 'node:crypto';
import type { VercelRequest } from '@vercel/node';
import { config, type Config } from '../queue/index.js';
import { HttpError } from './errors.js';

type SecretName = 'ENQUEUE_SECRET' | 'ADMIN_SECRET' | 'CRON_SECRET' | 'DRAIN_SECRET';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <secret>` where the secret is the first of `names` that is set.
 * None set: 500 naming the variable (a route never runs open). Compared in constant time on
 * SHA-256 digests, so neither the secret's content nor its length leaks through timing.
 */
export function authorize(req: VercelRequest, ...names: [SecretName, ...SecretName[]]): void {
  const c: Config = config();
  const secret = names.map((n) => c[n]).find((v) => v !== undefined);
  if (secret === undefined) {
    throw new HttpError(500, `server misconfigured: ${names.join(' (or ')}${')'.repeat(names.length - 1)} is not set`);
  }
  const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  if (!match || !timingSafeEqual(digest(match[1]!), digest(secret))) {
    throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <secret>)');
  }
}
