import type { Command } from 'commander';
import type { BulkResult, Db, JobView } from '../queue/index.js';
import { withDatabase } from './database.js';
import { CliError } from './errors.js';
import { appEnv } from './env.js';

/** What `sluice retry` and `sluice cancel` do: one job by id, or every dead job (of a type) in bulk. */
export interface DeadJobAction {
  name: 'retry' | 'cancel';
  description: string;
  one(db: Db, id: string): Promise<JobView>;
  bulk(db: Db, o: { type?: string }): Promise<BulkResult>;
  /** Past tense, for the report: "retried", "cancelled". */
  done: string;
}

/** Registers a command `<name> [id] | --dead [--type T]` doing `action`. */
export function deadJobCommand(program: Command, action: DeadJobAction): void {
  program
    .command(`${action.name} [id]`)
    .description(action.description)
    .option('--dead', 'every dead job (of --type, if given) instead of one job')
    .option('-t, --type <type>', 'with --dead: only dead jobs of this type')
    .option('--dir <dir>', 'the app folder whose .env.local and .env to read', '.')
    .action(async (id: string | undefined, opts: { dead?: boolean; type?: string; dir: string }) => {
      if (Boolean(id) === Boolean(opts.dead)) throw new CliError(`${action.name}: give a job id or --dead, not ${id ? 'both' : 'neither'}`);
      if (opts.type && !opts.dead) throw new CliError(`${action.name}: --type goes with --dead`);
      await withDatabase(appEnv(opts.dir), {}, async (db) => {
        if (id) {
          const job = await action.one(db, id);
          // A running job is only asked to stop (cancel): its drain stops it at its next heartbeat.
          console.log(job.status === 'running' ? `asked running job ${job.id} (${job.type}) to stop` : `${action.done} job ${job.id} (${job.type})`);
          return;
        }
        let count = 0;
        for (let more = true; more; ) {
          const result = await action.bulk(db, { type: opts.type });
          count += result.count;
          more = result.more;
        }
        console.log(`${action.done} ${count} dead job${count === 1 ? '' : 's'}${opts.type ? ` of type ${opts.type}` : ''}`);
      });
    });
}
