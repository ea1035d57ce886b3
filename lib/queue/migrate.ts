import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

/** drizzle/ beside lib/, found from this module so the cwd does not matter (tests, scripts, Vercel). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Applies the migrations in drizzle/ that this database lacks, bookkept in drizzle-kit's own table
 * (drizzle.__drizzle_migrations) so `drizzle-kit migrate` and this agree. Unlike drizzle's migrator it
 * takes a transaction-scoped advisory lock first: two processes migrating at once apply each migration
 * once, the second waiting for the first and then finding nothing to do.
 */
export async function migrate(db: Db, folder = MIGRATIONS_FOLDER): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('sluice:migrate'))`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(
      sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    );
    const last = (await tx.execute(
      sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    )) as unknown as { rows: { created_at: string }[] };
    const appliedUpTo = Number(last.rows[0]?.created_at ?? -1);
    for (const migration of migrations) {
      if (migration.folderMillis <= appliedUpTo) continue;
      for (const statement of migration.sql) if (statement.trim()) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`,
      );
    }
  });
}
