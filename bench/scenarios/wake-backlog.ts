import { cpus } from 'node:os';
import pg from 'pg';
import { connect, enqueueMany, migrate } from '../../lib/queue/index.js';
import type { WakeSummary } from '../../lib/wake/wake.js';
import { round, type Context } from '../context.js';
import { sleep } from '../wake/clock.js';
import { machineBusyMs, postmasterPid, serverCpuMs } from '../wake/cpu.js';
import { sleep5 } from '../wake/jobs.js';
import { startWakeApp } from '../wake/processes.js';

export interface BacklogTick { atMs: number; stoppedBy: string; completed: number; fannedOut: number; continued: boolean }

export interface BacklogRow {
  /** SLUICE_MAX_FANOUT. */
  fanout: number;
  jobs: number;
  /** First tick sent to the table empty. */
  wallMs: number;
  jobsPerSec: number;
  capped: boolean;
  ticks: BacklogTick[];
  /** Handlers running at once, averaged over the run: about 10 per drain (the default concurrency). */
  avgHandlers: number;
  peakHandlers: number;
  /** Drains started by self-calls (POST /api/drain): fanned out and continuing. */
  drainCalls: number;
  /** CPU over the run, ms: the app's process, Postgres (all its processes), the whole machine. */
  appCpuMs: number;
  postgresCpuMs: number;
  machineBusyMs: number;
}

export interface WakeBacklog {
  jobs: number;
  jobMs: number;
  cores: number;
  /** DRAIN_MAX_DURATION_MS of the app, and the tick period: equal, as a 60 s function under a per-minute cron. */
  drainMaxMs: number;
  /** DRAIN_SAFETY_MARGIN_MS: a drain's budget is drainMaxMs less this. */
  safetyMarginMs: number;
  rows: BacklogRow[];
  speedup: number;
}

const CONCURRENCY = 10; // DRAIN_DEFAULTS.concurrency: jobs one drain runs at once
const SAFETY_MARGIN_MS = 3_000; // DRAIN_SAFETY_MARGIN_MS's default

/**
 * A backlog of due 5 ms jobs drained by cron ticks (GET /api/cron/drain) through the bench app's HTTP
 * server, with SLUICE_MAX_FANOUT 4 and 1. Time is compressed 3x: drains may last 20 s (17 s after the
 * safety margin) and a tick comes every 20 s, as a 60 s function under Vercel's per-minute cron (quick:
 * 5 s, so its smaller backlog still outlasts one drain and fans out); fanned
 * out drains and continuations are real self-calls to /api/drain. Every drain shares the app's one Node
 * process and the one Postgres, on this machine's cores: on Vercel each would be an instance of its own.
 */
export async function wakeBacklog(ctx: Context): Promise<WakeBacklog> {
  const jobs = ctx.sizes.backlogJobs;
  const drainMaxMs = ctx.quick ? 5_000 : 20_000;
  const url = await ctx.pg.createDatabase('wake_backlog');
  const seeder = connect(url, { driver: 'pg', max: 2 });
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const rows: BacklogRow[] = [];
  try {
    await migrate(seeder.db);
    const postmaster = await postmasterPid(db);
    for (const fanout of [4, 1]) {
      ctx.log(`wake backlog: ${jobs.toLocaleString('en')} jobs of 5 ms, fan-out ${fanout}`);
      await db.query('truncate sluice.jobs, sluice.app_drain_slots, sluice.apps');
      for (let i = 0; i < jobs; i += 20_000) {
        await enqueueMany(seeder.db, Array.from({ length: Math.min(20_000, jobs - i) }, () => ({ job: sleep5, payload: {} })));
      }
      await db.query('vacuum analyze sluice.jobs');
      const row = await drainByTicks(ctx, url, db, postmaster, jobs, fanout, drainMaxMs);
      ctx.log(`  ${row.jobsPerSec.toLocaleString('en')} jobs/s in ${(row.wallMs / 1000).toFixed(1)} s, ${row.ticks.length} ticks, ${row.drainCalls} drains started by self-calls, ~${round(row.avgHandlers / CONCURRENCY)} drains at once on average`);
      rows.push(row);
    }
  } finally {
    await db.end();
    await seeder.close();
  }
  const [four, one] = [rows.find((r) => r.fanout === 4)!, rows.find((r) => r.fanout === 1)!];
  return { jobs, jobMs: 5, cores: cpus().length, drainMaxMs, safetyMarginMs: SAFETY_MARGIN_MS, rows, speedup: round(four.jobsPerSec / one.jobsPerSec, 2) };
}

async function drainByTicks(
  ctx: Context, url: string, db: pg.Client, postmaster: number | null, jobs: number, fanout: number, drainMaxMs: number,
): Promise<BacklogRow> {
  const app = await startWakeApp(url, {
    CRON_SECRET: 'bench-cron-secret', SLUICE_MAX_FANOUT: fanout, DRAIN_MAX_DURATION_MS: drainMaxMs, DRAIN_SAFETY_MARGIN_MS: SAFETY_MARGIN_MS, SLUICE_KICK: false,
  });
  const capMs = ctx.quick ? 60_000 : 150_000;
  const ticks: Promise<BacklogTick>[] = [];
  const before = { app: await app.stats(), pg: serverCpuMs(postmaster), machine: machineBusyMs() };
  const start = performance.now();
  let nextTick = start;
  let left = jobs;
  try {
    while (left > 0 && performance.now() - start < capMs) {
      if (performance.now() >= nextTick) {
        const sent = tick(app.url, start);
        sent.catch(() => {}); // awaited below; meanwhile a failure must not end the process
        ticks.push(sent);
        nextTick += drainMaxMs;
      }
      await sleep(250);
      left = (await db.query<{ left: number }>("select count(*)::int as left from sluice.jobs where status <> 'completed'")).rows[0]!.left;
    }
    const wallMs = performance.now() - start;
    const after = { app: await app.stats(), pg: serverCpuMs(postmaster), machine: machineBusyMs() };
    return {
      fanout, jobs, wallMs: Math.round(wallMs), jobsPerSec: Math.round((jobs - left) / (wallMs / 1000)), capped: left > 0,
      // The table is empty: the last ticks' drains end at once (their next claim finds nothing).
      ticks: await Promise.all(ticks),
      avgHandlers: round((after.app.handlerMs - before.app.handlerMs) / wallMs),
      peakHandlers: after.app.peakHandlers,
      drainCalls: after.app.drainCalls - before.app.drainCalls,
      appCpuMs: Math.round(after.app.cpuMs - before.app.cpuMs),
      postgresCpuMs: Math.round(after.pg - before.pg),
      machineBusyMs: Math.round(after.machine - before.machine),
    };
  } finally {
    await app.stop();
  }
}

async function tick(base: string, start: number): Promise<BacklogTick> {
  const atMs = Math.round(performance.now() - start);
  const res = await fetch(`${base}/api/cron/drain`, { headers: { authorization: 'Bearer bench-cron-secret' } });
  if (!res.ok) throw new Error(`GET /api/cron/drain answered ${res.status}: ${await res.text()}`);
  const s = (await res.json()) as WakeSummary;
  return { atMs, stoppedBy: s.stoppedBy, completed: s.completed, fannedOut: s.fannedOut, continued: s.continued };
}
