/**
 * npm run db:migrate: applies Sluice's migrations (drizzle/: the schema sluice, bookkept in
 * sluice.__drizzle_migrations) and then the example app's (lib/app/drizzle/: users, sent_emails,
 * bookkept in drizzle.__drizzle_migrations) to DATABASE_URL_UNPOOLED when set (a direct connection, as
 * Vercel's Neon integration provides: a pooler in transaction mode is no place for DDL), else
 * DATABASE_URL. Idempotent and safe to run concurrently; Vercel runs it on every deploy ("vercel-build").
 */
import { migrateApp } from '../lib/app/migrate.js';
import { config, connect } from '../lib/queue/index.js';

const url = config().DATABASE_URL_UNPOOLED ?? config().DATABASE_URL;
if (!url) {
  console.error('db:migrate: DATABASE_URL is not set (on Vercel, add Neon from the Marketplace or set it in Project Settings)');
  process.exit(1);
}
const { db, driver, close } = connect(url, { max: 1, driver: config().DATABASE_DRIVER, wsProxy: config().NEON_WS_PROXY });
try {
  await migrateApp(db);
  console.log(`db:migrate: migrations applied (${driver} driver, host ${new URL(url).hostname})`);
} finally {
  await close();
}
