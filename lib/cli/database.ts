import { connect, parseConfig, type Config, type Db } from '../queue/index.js';
import { CliError } from './errors.js';

/** What `sluice init` writes as DATABASE_URL until the user has a database: never a URL that connects. */
export const DATABASE_URL_PLACEHOLDER = 'postgres://USER:PASSWORD@HOST/DATABASE';

/** The settings a command reads, checked by Sluice's config schema (only these: the app's others are not ours). */
export function cliSettings(env: Record<string, string | undefined>): Config {
  const keys = ['DATABASE_URL', 'DATABASE_URL_UNPOOLED', 'DATABASE_DRIVER', 'NEON_WS_PROXY', 'CRON_SECRET', 'SLUICE_APP'] as const;
  try {
    return parseConfig(Object.fromEntries(keys.map((k) => [k, env[k]])));
  } catch (error) {
    throw new CliError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Runs `use` with a one-connection pool on the app's database, closed afterwards. `direct`: migrations,
 * which need a session of their own (DATABASE_URL_UNPOOLED, as Vercel's Neon integration sets it,
 * when set: a pooler in transaction mode is no place for DDL).
 */
export async function withDatabase<T>(env: Record<string, string | undefined>, opts: { direct?: boolean }, use: (db: Db) => Promise<T>): Promise<T> {
  const settings = cliSettings(env);
  const url = (opts.direct ? settings.DATABASE_URL_UNPOOLED : undefined) ?? settings.DATABASE_URL;
  if (!url) throw new CliError('DATABASE_URL is not set (in the environment, .env.local or .env): point it at your Postgres');
  if (url === DATABASE_URL_PLACEHOLDER) throw new CliError('DATABASE_URL is still the placeholder sluice init wrote to .env.local: put your Postgres connection string there');
  let connection;
  try {
    connection = connect(url, { max: 1, driver: settings.DATABASE_DRIVER, wsProxy: settings.NEON_WS_PROXY });
  } catch (error) {
    throw new CliError((error as Error).message); // an invalid URL: pickDriver's message never holds the URL
  }
  try {
    return await use(connection.db);
  } finally {
    await connection.close().catch(() => {});
  }
}
