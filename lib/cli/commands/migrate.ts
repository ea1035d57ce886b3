import type { Command } from 'commander';
import { migrate } from '../../queue/index.js';
import { withDatabase } from '../database.js';
import { appEnv } from '../env.js';

/** `sluice migrate`: Sluice's tables (schema sluice) on DATABASE_URL_UNPOOLED, else DATABASE_URL. Idempotent. */
export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("apply Sluice's migrations (schema sluice) to DATABASE_URL_UNPOOLED, else DATABASE_URL; idempotent")
    .option('--dir <dir>', 'the app folder whose .env.local and .env to read', '.')
    .action(async (opts: { dir: string }) => {
      await withDatabase(appEnv(opts.dir), { direct: true }, (db) => migrate(db));
      console.log('sluice migrate: migrations applied');
    });
}
