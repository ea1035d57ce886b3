/**
 * Which database errors a drain waits out rather than ending on (issue 11). The drain's own statements
 * are idempotent (outcomes are written only under their lease token), so sending one again is safe.
 */

/** deadlock_detected, serialization_failure: the statement lost a race; sending it again works. */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

// admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now (starting up),
// too_many_connections, and the connection_exception class.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'ECONNABORTED', 'EHOSTUNREACH']);
// What pg and the Neon driver say, without a code, when a connection drops under a query.
const DROPPED = /connection terminated|connection ended|connection is closed|client has encountered a connection error|terminating connection|websocket/i;

/** The connection dropped, or the server is restarting: a fresh connection may well work. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && (SQLSTATES.has(e.code) || SOCKET_CODES.has(e.code))) return true;
  return typeof e?.message === 'string' && DROPPED.test(e.message);
}
