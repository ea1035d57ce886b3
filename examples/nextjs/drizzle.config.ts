import { defineConfig } from 'drizzle-kit';

// The app's own tables (lib/schema.ts), in `public`; Sluice's tables live in the schema `sluice` and
// come with the package (scripts/migrate.mjs applies both). `npm run db:generate` writes drizzle/.
export default defineConfig({
  dialect: 'postgresql',
  schema: './lib/schema.ts',
  out: './drizzle',
  schemaFilter: ['public'],
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
});
