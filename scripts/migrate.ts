/**
 * npm run db:migrate: applies drizzle/ to DATABASE_URL (the queue's tables and the app's). Idempotent
 * and safe to run concurrently; Vercel runs it on every deploy (package.json "vercel-build").
 */
import { config, connect, migrate } from '../lib/queue/index.js';

const url = config().DATABASE_URL;
if (!url) {
  console.error('db:migrate: DATABASE_URL is not set (on Vercel, add Neon from the Marketplace or set it in Project Settings)');
  process.exit(1);
}
const { db, driver, close } = connect(url, { max: 1 });
try {
  await migrate(db);
  console.log(`db:migrate: migrations applied (${driver} driver, host ${new URL(url).hostname})`);
} finally {
  await close();
}
