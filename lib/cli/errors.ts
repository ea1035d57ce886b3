import { SluiceError } from '../queue/index.js';

/**
 * A failure the CLI explains in one line, with no stack: a missing setting, an unreachable database,
 * no Next.js app where one was expected. Anything else is a bug and keeps its stack.
 */
export class CliError extends Error {}

/** Network errors that mean "the database is not there", whatever the driver calls them. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** The error and its causes (drizzle wraps a driver's error as `cause`), outermost first. */
function chain(error: unknown): unknown[] {
  const found: unknown[] = [];
  for (let e: unknown = error; e && found.length < 5; e = (e as { cause?: unknown }).cause) found.push(e);
  return found;
}

/**
 * What the CLI prints for an error it expects: its own CliErrors, and a database that cannot be
 * reached or refuses the login (Postgres' own message: it names the role, never the password).
 * undefined for anything else.
 */
export function expectedMessage(error: unknown): string | undefined {
  if (error instanceof CliError || error instanceof SluiceError) return error.message;
  for (const e of chain(error)) {
    const code = (e as { code?: string }).code;
    if (code && UNREACHABLE.has(code)) return `cannot reach the database in DATABASE_URL (${code}): is it running, and is the URL right?`;
    // 28P01 wrong password, 28000 no such role, 3D000 no such database.
    if (code && /^(28P01|28000|3D000)$/.test(code)) return `the database refused the connection: ${(e as Error).message}`;
  }
  return undefined;
}
