import type { Command } from 'commander';
import { exportJobs, JOB_STATUSES, type JobStatus } from '../../queue/index.js';
import { withDatabase } from '../database.js';
import { appEnv } from '../env.js';

interface ExportOptions {
  dir: string;
  status?: JobStatus;
  type?: string;
  from?: string;
  to?: string;
  idempotencyKey?: string;
  max: string;
}

/** `sluice export`: the jobs of a filter as JSON lines on stdout (a job a line, newest first), for an incident review. */
export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('print the jobs of a filter as JSON lines (a job a line, newest first): e.g. sluice export --status dead --from 2026-12-01T00:00:00Z > dead.jsonl')
    .option('--dir <dir>', 'the app folder whose .env.local and .env to read', '.')
    .option('-s, --status <status>', `one of ${JOB_STATUSES.join(', ')} (default: every status, by enqueue time)`)
    .option('-t, --type <type>', 'one job type')
    .option('--from <time>', 'ISO 8601: reached the status (or, without --status, enqueued) at or after this time')
    .option('--to <time>', 'ISO 8601: ... before this time')
    .option('--idempotency-key <key>', 'the jobs enqueued with this idempotency key')
    .option('--max <n>', 'jobs at most', '100000')
    .action(async (opts: ExportOptions) => {
      await withDatabase(appEnv(opts.dir), {}, async (db) => {
        const filter = { status: opts.status, type: opts.type, from: opts.from, to: opts.to, idempotencyKey: opts.idempotencyKey };
        for await (const job of exportJobs(db, filter, Number(opts.max))) console.log(JSON.stringify(job));
      });
    });
}
