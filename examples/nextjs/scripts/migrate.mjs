// npm run db:migrate: Sluice's tables (schema `sluice`, from the package's own migrations), then the
// app's (drizzle/, schema `public`). Idempotent, and safe when two deploys migrate at once (each set
// is applied under an advisory lock), so it runs on every deploy (vercel-build). Plain JavaScript so
// it runs with node alone, before anything is built. Use the direct (unpooled) DATABASE_URL.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, migrate } from 'sluice/engine';

for (const file of ['.env.local', '.env']) {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  if (existsSync(path)) process.loadEnvFile(path); // variables already set win
}
if (!process.env.DATABASE_URL) {
  console.error('db:migrate: DATABASE_URL is not set (use the direct, unpooled URL for migrations)');
  process.exit(1);
}

const { db, close } = connect(process.env.DATABASE_URL, { max: 1 });
try {
  // Sluice's own set, bookkept in sluice.__drizzle_migrations: what sluice.migrate() runs.
  await migrate(db);
  // The app's set, bookkept where drizzle-kit keeps it by default (drizzle.__drizzle_migrations).
  await migrate(db, { folder: fileURLToPath(new URL('../drizzle', import.meta.url)), schema: 'drizzle', table: '__drizzle_migrations' });
  console.log('db:migrate: Sluice and app migrations applied');
} finally {
  await close();
}
