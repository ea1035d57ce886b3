import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../queue/index.js';
import { sessionAlive, sessionEnd, sessionStart } from '../queue/ops/queries-auth.js';

/**
 * The dashboard's sessions: a row in sluice.sessions, named by a signed cookie `v2.<id>.<mac>`. The MAC
 * is an HMAC-SHA256 under a key derived from ADMIN_SECRET, so changing the secret ends every session, a
 * forged cookie costs no query, and the table's ids alone (a leaked backup) open nothing. The row, not
 * the cookie, says how long a session lasts, and logging out deletes it. The CSRF token is a second MAC
 * of the id: bound to the session, never stored, unknowable to another site.
 */
export const SESSION_COOKIE = 'sluice_session';
/** A session lasts 12 hours from login, by the server's record: nothing in the cookie extends it. */
export const SESSION_MS = 12 * 3_600_000;
/** The cookie is only ever sent to the dashboard's own paths. */
export const SESSION_PATH = '/api/dashboard';

const b64 = (b: Buffer) => b.toString('base64url');
const keyOf = (secretValue: string) => createHmac('sha256', secretValue).update('sluice dashboard session v2').digest();
const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** The values ADMIN_SECRET accepts ("new,old" while rotating): sessions are signed with the first. */
const values = (secret: string) => [...new Set(secret.split(','))];

/** Equal in constant time (of the digests' length; both are SHA-256). */
function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts a session; returns its cookie's value. */
export async function startSession(db: Db, secret: string): Promise<string> {
  const id = b64(randomBytes(18));
  await sessionStart(db, id, SESSION_MS);
  const body = `v2.${id}`;
  return `${body}.${b64(mac(keyOf(values(secret)[0]!), body))}`;
}

/** A cookie signed under one of the secret's values: its session id and that value's key, or null. */
function verify(secret: string, cookie: string | undefined): { id: string; key: Buffer } | null {
  const m = /^(v2\.([A-Za-z0-9_-]{24}))\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
  if (!m) return null;
  const [, body, id, sent] = m;
  let found: Buffer | null = null;
  // Every value is checked, so which one matched does not show in the timing.
  for (const value of values(secret)) {
    const key = keyOf(value);
    if (same(mac(key, body!), Buffer.from(sent!, 'base64url')) && !found) found = key;
  }
  return found ? { id: id!, key: found } : null;
}

export interface Session {
  readonly id: string;
  /** The token the page sends back with every action (header x-sluice-csrf, or the form field csrf). */
  csrf: string;
  /** Whether `token` is this session's CSRF token. */
  csrfMatches(token: string | undefined | null): boolean;
}

/**
 * The session a cookie names, or null: missing, forged, signed under another secret, expired or
 * logged out. One primary-key lookup, only for a cookie whose signature holds (`db` is asked for
 * then only: a page without a session opens no connection).
 */
export async function sessionOf(db: () => Db, secret: string, cookie: string | undefined): Promise<Session | null> {
  const verified = verify(secret, cookie);
  if (!verified || !(await sessionAlive(db(), verified.id))) return null;
  const csrf = mac(verified.key, `csrf.${verified.id}`);
  return {
    id: verified.id,
    csrf: b64(csrf),
    csrfMatches: (token) => typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token) && same(csrf, Buffer.from(token, 'base64url')),
  };
}

/** Ends a session for good: its cookie, wherever it was copied to, is refused from now on. */
export async function endSession(db: Db, session: Session): Promise<void> {
  await sessionEnd(db, session.id);
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
