import { defineConfig } from 'drizzle-kit';

// The example app's own migrations (users, sent_emails), apart from Sluice's (drizzle.config.ts at the
// root): `npx drizzle-kit generate --config lib/app/drizzle.config.ts` diffs lib/app/schema.ts against
// lib/app/drizzle/. Bookkept in drizzle-kit's default table, drizzle.__drizzle_migrations, as any app's
// would be; lib/app/migrate.ts applies them.
export default defineConfig({
  dialect: 'postgresql',
  schema: './lib/app/schema.ts',
  out: './lib/app/drizzle',
  schemaFilter: ['public'],
});
