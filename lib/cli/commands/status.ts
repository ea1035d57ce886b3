import type { Command } from 'commander';
import { appScope, listDeadJobs, listJobs, queueStats, type Db, type JobStatus } from '../../queue/index.js';
import { cliSettings, withDatabase } from '../database.js';
import { appEnv } from '../env.js';
import { duration } from '../format.js';

/** How many jobs of each status the type discovery looks at when no --type is given. */
const DISCOVERY_PAGE = 500;

/** The types with jobs waiting, running or dead (the oldest DISCOVERY_PAGE of each): what has a depth to show. */
async function typesWithJobs(db: Db): Promise<string[]> {
  const types = new Set<string>();
  for (const status of ['pending', 'running', 'dead'] as JobStatus[]) {
    for (const job of (await listJobs(db, { status, limit: DISCOVERY_PAGE })).jobs) types.add(job.type);
  }
  return [...types];
}

/** `sluice status`: depth by type, the oldest due job's age, the last good drain, the newest dead jobs. */
export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('queue depth by type, the oldest due job\'s age, the last good drain and the newest dead jobs')
    .option('--dir <dir>', 'the app folder whose .env.local and .env to read', '.')
    .option('-t, --type <type...>', "the app's job types (default: the types with jobs pending, running or dead)")
    .option('--json', 'print the stats and dead jobs as JSON')
    .action(async (opts: { dir: string; type?: string[]; json?: boolean }) => {
      const env = appEnv(opts.dir);
      const app = cliSettings(env).SLUICE_APP;
      await withDatabase(env, {}, async (db) => {
        const types = opts.type ?? (await typesWithJobs(db));
        const stats = types.length ? await queueStats(db, appScope(types, app)) : undefined;
        const dead = await listDeadJobs(db, { limit: 10 });
        if (opts.json) {
          console.log(JSON.stringify({ stats: stats ?? null, dead }, null, 2));
          return;
        }
        if (!stats) console.log('No jobs pending, running or dead.');
        else {
          console.log(`pending ${stats.pending}, running ${stats.running}, dead ${stats.dead}${stats.exact ? '' : ` (sampled ${stats.sampledAt ?? 'lower bound'})`}`);
          console.log(`oldest due job waiting: ${duration(stats.oldestPendingAgeMs)}`);
          console.log(`last good drain: ${stats.lastDrainAgeMs === null ? 'none recorded for this app (pass every job type with --type, or set SLUICE_APP)' : `${duration(stats.lastDrainAgeMs)} ago`}`);
          for (const [type, t] of Object.entries(stats.byType)) {
            console.log(`  ${type.padEnd(24)} pending ${t.pending}  running ${t.running}  dead ${t.dead}${t.paused ? '  (paused)' : ''}`);
          }
        }
        if (dead.total > 0) {
          console.log(`\n${dead.total} dead job${dead.total === 1 ? '' : 's'}, newest first (sluice retry <id> | --dead, sluice cancel <id> | --dead):`);
          for (const job of dead.jobs) console.log(`  ${job.id}  ${job.type}  ${job.deadAt}  ${(job.lastError ?? '').split('\n')[0]!.slice(0, 100)}`);
        }
      });
    });
}
