import { fileURLToPath } from 'node:url';
import { migrate, type Db } from '../queue/index.js';

/**
 * The example app's migrations (users, sent_emails), made with lib/app/drizzle.config.ts. Resolved as
 * `../../lib/app/drizzle` so it is the same folder from lib/app/migrate.ts and from a build in dist/app/.
 */
export const APP_MIGRATIONS_FOLDER = fileURLToPath(new URL('../../lib/app/drizzle', import.meta.url));

/**
 * Migrates the database for the example app: Sluice's set first (schema `sluice`, bookkept in
 * sluice.__drizzle_migrations), then the app's own (in public, bookkept in drizzle-kit's default
 * drizzle.__drizzle_migrations). Idempotent and safe to run concurrently.
 */
export async function migrateApp(db: Db): Promise<void> {
  await migrate(db);
  await migrate(db, { folder: APP_MIGRATIONS_FOLDER, schema: 'drizzle', table: '__drizzle_migrations' });
}
