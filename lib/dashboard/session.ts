import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The dashboard's sessions: a signed cookie, no table. `v1.<expires>.<nonce>.<mac>`, the MAC an
 * HMAC-SHA256 under a key derived from ADMIN_SECRET, so changing the secret ends every session. The CSRF
 * token is a second MAC of the same nonce: bound to the session, never stored, unknowable to another site.
 */
export const SESSION_COOKIE = 'sluice_session';
/** A session lasts 12 hours from login. */
export const SESSION_MS = 12 * 3_600_000;
/** The cookie is only ever sent to the dashboard's own paths. */
export const SESSION_PATH = '/api/dashboard';

const b64 = (b: Buffer) => b.toString('base64url');
const keyOf = (secretValue: string) => createHmac('sha256', secretValue).update('sluice dashboard session v1').digest();
const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** The values ADMIN_SECRET accepts ("new,old" while rotating): sessions are signed with the first. */
const values = (secret: string) => [...new Set(secret.split(','))];

/** Equal in constant time (of the digests' length; both are SHA-256). */
function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A new session's cookie value. */
export function newSession(secret: string, now = Date.now()): string {
  const body = `v1.${Math.floor((now + SESSION_MS) / 1000)}.${b64(randomBytes(18))}`;
  return `${body}.${b64(mac(keyOf(values(secret)[0]!), body))}`;
}

/** A valid, unexpired session's nonce (the CSRF token's seed) and key, or null. */
function verify(secret: string, cookie: string | undefined, now: number): { nonce: string; key: Buffer } | null {
  const m = /^(v1\.(\d{1,12})\.([A-Za-z0-9_-]{24}))\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
  if (!m) return null;
  const [, body, expires, nonce, sent] = m;
  let found: Buffer | null = null;
  // Every value is checked, so which one matched does not show in the timing.
  for (const value of values(secret)) {
    const key = keyOf(value);
    if (same(mac(key, body!), Buffer.from(sent!, 'base64url')) && !found) found = key;
  }
  if (!found || Number(expires) * 1000 <= now) return null;
  return { nonce: nonce!, key: found };
}

export interface Session {
  /** The token the page sends back with every action (header x-sluice-csrf, or the form field csrf). */
  csrf: string;
  /** Whether `token` is this session's CSRF token. */
  csrfMatches(token: string | undefined | null): boolean;
}

/** The session a cookie holds, or null (missing, forged, signed under another secret, or expired). */
export function sessionOf(secret: string, cookie: string | undefined, now = Date.now()): Session | null {
  const verified = verify(secret, cookie, now);
  if (!verified) return null;
  const csrf = mac(verified.key, `csrf.${verified.nonce}`);
  return {
    csrf: b64(csrf),
    csrfMatches: (token) => typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token) && same(csrf, Buffer.from(token, 'base64url')),
  };
}

/** Whether `password` is one of ADMIN_SECRET's values, in constant time (on digests: no length leaks). */
export function passwordMatches(secret: string, password: string): boolean {
  const digest = (s: string) => createHmac('sha256', 'sluice dashboard login').update(s).digest();
  const sent = digest(password);
  let match = false;
  for (const value of values(secret)) match = timingSafeEqual(sent, digest(value)) || match;
  return match;
}

/** Set-Cookie for a session (HttpOnly: no script reads it; Secure; SameSite=Strict: no other site sends it). */
export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=${SESSION_PATH}; Max-Age=${SESSION_MS / 1000}; HttpOnly; Secure; SameSite=Strict`;
}

/** Set-Cookie that ends the session in this browser. */
export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=${SESSION_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}
