import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs lib/queue/schema.ts against drizzle/ and writes the next migration.
export default defineConfig({
  dialect: 'postgresql',
  schema: './lib/**/schema.ts',
  out: './drizzle',
});
