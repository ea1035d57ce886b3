import type { Command } from 'commander';
import { cancelDeadJobs, cancelJob } from '../../queue/index.js';
import { deadJobCommand } from '../dead-jobs.js';

/** `sluice cancel <id>` (a pending or dead job) / `sluice cancel --dead [--type T]`: deleted with their steps. */
export function cancelCommand(program: Command): void {
  deadJobCommand(program, {
    name: 'cancel',
    description: 'delete a pending or dead job (or every dead job, --dead) with its steps',
    one: cancelJob,
    bulk: cancelDeadJobs,
    done: 'cancelled',
  });
}
