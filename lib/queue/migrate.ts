import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

/**
 * Sluice's migrations: drizzle/ at the package root, found from this module so the cwd does not matter
 * (tests, scripts, Vercel). `../../drizzle` is the root's drizzle/ both from lib/queue/migrate.ts and
 * from a build of lib/ into dist/ (dist/queue/migrate.js).
 */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Where Sluice bookkeeps its own migrations: in its schema, apart from an app's drizzle.__drizzle_migrations. */
export const MIGRATIONS_SCHEMA = 'sluice';
export const MIGRATIONS_TABLE = '__drizzle_migrations';

export interface MigrateOptions {
  /** A folder drizzle-kit generated (SQL files and meta/_journal.json). Default: Sluice's, MIGRATIONS_FOLDER. */
  folder?: string;
  /**
   * Schema of the bookkeeping table. Default: 'sluice' for Sluice's own folder; for any other folder
   * drizzle-kit's default, 'drizzle', so `drizzle-kit migrate` with a default config agrees.
   */
  schema?: string;
  /** Name of the bookkeeping table (drizzle-kit's shape: id, hash, created_at). Default: '__drizzle_migrations'. */
  table?: string;
}

/**
 * Applies the migrations of a folder that this database lacks, bookkept in a table of drizzle-kit's
 * shape, so `drizzle-kit migrate` with the same `migrations: { schema, table }` and this agree.
 * `migrate(db)` applies Sluice's own set (the schema `sluice` and its tables), bookkept in
 * sluice.__drizzle_migrations so it never mixes with an app's drizzle migrations. Unlike drizzle's
 * migrator it takes a transaction-scoped advisory lock first: two processes migrating at once apply
 * each migration once, the second waiting for the first and then finding nothing to do.
 * (A string as second argument is the folder, as before.)
 */
export async function migrate(db: Db, options: MigrateOptions | string = {}): Promise<void> {
  const opts = typeof options === 'string' ? { folder: options } : options;
  const folder = opts.folder ?? MIGRATIONS_FOLDER;
  const schemaName = opts.schema ?? (folder === MIGRATIONS_FOLDER ? MIGRATIONS_SCHEMA : 'drizzle');
  const table = sql`${sql.identifier(schemaName)}.${sql.identifier(opts.table ?? MIGRATIONS_TABLE)}`;
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('sluice:migrate'))`);
    await tx.execute(sql`create schema if not exists ${sql.identifier(schemaName)}`);
    await tx.execute(sql`create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`);
    const last = (await tx.execute(
      sql`select created_at from ${table} order by created_at desc limit 1`,
    )) as unknown as { rows: { created_at: string }[] };
    const appliedUpTo = Number(last.rows[0]?.created_at ?? -1);
    for (const migration of migrations) {
      if (migration.folderMillis <= appliedUpTo) continue;
      for (const statement of migration.sql) if (statement.trim()) await tx.execute(sql.raw(statement));
      await tx.execute(sql`insert into ${table} (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`);
    }
  });
}
