// One drain process of the chaos suite: drain passes back to back until the stop file appears, each
// carrying the cron tick's housekeeping, logging each pass's deadline and when it returned. Its
// connections carry its pid in application_name, so the suite can terminate or stall exactly this
// process's backends.
import { appendFileSync, existsSync } from 'node:fs';
import { connect, drain, loggable } from '../lib/queue/index.js';
import { CHAOS_JOBS, CHAOS_TICK, logRunsTo } from './jobs.js';

const [url, logFile, stopFile, leaseGraceMs] = process.argv.slice(2) as [string, string, string, string];
const withName = new URL(url);
withName.searchParams.set('application_name', `chaos-drain-${process.pid}`);
const { db } = connect(withName.toString(), { driver: 'pg' });
logRunsTo(logFile);

while (!existsSync(stopFile)) {
  const budgetMs = 2_000 + Math.floor(Math.random() * 2_000);
  const deadline = Date.now() + budgetMs;
  try {
    const pass = await drain(db, CHAOS_JOBS, { deadline, leaseGraceMs: Number(leaseGraceMs), concurrency: 8, housekeeping: CHAOS_TICK });
    appendFileSync(logFile, `pass ${process.pid} ${deadline} ${Date.now()} ok\n`);
    if (pass.claimed === 0) await new Promise((r) => setTimeout(r, 100)); // nothing due: look again shortly, as a kick would
  } catch (error) {
    // A pass may end early when the database stays unreachable until its stop time: the loop goes on.
    appendFileSync(logFile, `pass ${process.pid} ${deadline} ${Date.now()} failed ${JSON.stringify(loggable(error).split('\n')[0])}\n`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
process.exit(0);
