import type { Command } from 'commander';
import { cancelDeadJobs, cancelJob } from '../../queue/index.js';
import { deadJobCommand } from '../dead-jobs.js';

/** `sluice cancel <id>` (a pending, running or dead job) / `sluice cancel --dead [--type T]`: cancelled, kept for the result retention. */
export function cancelCommand(program: Command): void {
  deadJobCommand(program, {
    name: 'cancel',
    description: 'cancel a pending, running or dead job (or every dead job, --dead): kept, cancelled, for SLUICE_RESULT_RETENTION',
    one: cancelJob,
    bulk: cancelDeadJobs,
    done: 'cancelled',
  });
}
