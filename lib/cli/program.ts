import { Command, CommanderError } from 'commander';
import { cancelCommand } from './commands/cancel.js';
import { devCommand } from './commands/dev.js';
import { exportCommand } from './commands/export.js';
import { initCommand } from './commands/init.js';
import { migrateCommand } from './commands/migrate.js';
import { retryCommand } from './commands/retry.js';
import { statusCommand } from './commands/status.js';
import { expectedMessage } from './errors.js';

/**
 * Runs `sluice <args>` and returns its exit status: 0, or 1 after one line on stderr for a failure
 * the CLI expects (errors.ts). Anything else is a bug and is thrown, stack and all.
 */
export async function runSluice(args: string[]): Promise<number> {
  const program = new Command('sluice')
    .description('Sluice, a serverless Postgres job queue: set up a Next.js app, migrate, run crons locally, inspect and fix the queue')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [initCommand, migrateCommand, devCommand, statusCommand, retryCommand, cancelCommand, exportCommand]) register(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed it (or the help)
    const message = expectedMessage(error);
    if (message === undefined) throw error;
    console.error(`sluice: ${message}`);
    return 1;
  }
}
