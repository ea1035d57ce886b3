#!/usr/bin/env node
// The package's bin, `sluice` (npx sluice): each command translates its arguments and calls the
// engine (lib/queue/index.ts); one file each under commands/.
import { Command, CommanderError } from 'commander';
import { cancelCommand } from './commands/cancel.js';
import { devCommand } from './commands/dev.js';
import { initCommand } from './commands/init.js';
import { migrateCommand } from './commands/migrate.js';
import { retryCommand } from './commands/retry.js';
import { statusCommand } from './commands/status.js';
import { expectedMessage } from './errors.js';

const program = new Command('sluice')
  .description('Sluice, a serverless Postgres job queue: set up a Next.js app, migrate, run crons locally, inspect and fix the queue')
  .showHelpAfterError()
  .exitOverride();
for (const register of [initCommand, migrateCommand, devCommand, statusCommand, retryCommand, cancelCommand]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode); // commander printed it (or the help)
  const message = expectedMessage(error);
  if (message === undefined) throw error; // a bug: its stack is the useful part
  console.error(`sluice: ${message}`);
  process.exit(1);
}
