import type { Command } from 'commander';
import { retryDeadJobs, retryJob } from '../../queue/index.js';
import { deadJobCommand } from '../dead-jobs.js';

/** `sluice retry <id>` / `sluice retry --dead [--type T]`: dead jobs back to pending, due now, attempts reset. */
export function retryCommand(program: Command): void {
  deadJobCommand(program, {
    name: 'retry',
    description: 'put a dead job (or every dead job, --dead) back to pending, due now, with its attempts reset',
    one: retryJob,
    bulk: retryDeadJobs,
    done: 'retried',
  });
}
