import { defineConfig } from 'drizzle-kit';

// Sluice's own migrations. `npm run db:generate` diffs lib/queue/schema.ts against drizzle/ and writes
// the next one. Sluice's tables live in the schema `sluice`, and its migrations are bookkept there
// (sluice.__drizzle_migrations, the table migrate() in lib/queue/migrate.ts uses), apart from an app's
// own drizzle migrations. The example app has a config of its own: lib/app/drizzle.config.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './lib/queue/schema.ts',
  out: './drizzle',
  schemaFilter: ['sluice'],
  migrations: { schema: 'sluice', table: '__drizzle_migrations' },
});
