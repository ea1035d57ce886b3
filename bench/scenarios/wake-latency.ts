import pg from 'pg';
import type { Context } from '../context.js';
import { oneAtATime, percentiles, sleep, startClock, type Clock, type Percentiles } from '../wake/clock.js';
import { graphileLatency, pgBossLatency, type PeerRun } from '../wake/peers.js';
import { startDevServer } from '../wake/processes.js';
import { startReceiver } from '../wake/receiver.js';

export interface LatencyRow extends Percentiles {
  system: string;
  /** How the job's handler is woken. */
  wakeUp: string;
  /** Sluice: POST /api/jobs answered 202 (p50), and the 202's arrival to the webhook's (p50). */
  enqueueP50Ms?: number;
  afterAnswerP50Ms?: number;
}

export interface WakeLatency {
  jobs: number;
  warmup: number;
  gapMs: number;
  rows: LatencyRow[];
  /**
   * What send-welcome-email does before its webhook POST leaves (BEGIN, the sent_emails insert, the
   * POST), timed by the bench on its own connection: part of Sluice's figures, not of the peers'.
   */
  handlerPreludeMs: number;
}

const SECRETS = { ENQUEUE_SECRET: 'bench-enqueue-secret', ADMIN_SECRET: 'bench-admin-secret', CRON_SECRET: 'bench-cron-secret' };
const email = (i: number) => `u${i}@example.com`;

/**
 * Enqueue-to-start latency (issue 9): jobs enqueued one at a time over HTTP through `npm run dev` (kick
 * on, its cron off), each measured from just before its POST to its webhook call reaching the bench's
 * receiver; then the same through graphile-worker's and pg-boss's always-on workers, from before the
 * add call to the handler's start. Between jobs: the job is done, its row gone, and 20 ms of quiet,
 * so every job meets an idle queue (and, for Sluice, no drain running: kicks alone).
 */
export async function wakeLatency(ctx: Context): Promise<WakeLatency> {
  const o: PeerRun = { n: ctx.sizes.wakeJobs, warmup: 5, gapMs: 20 };
  const clock = startClock();
  const receiver = await startReceiver(clock);
  const url = await ctx.pg.createDatabase('wake_latency');
  const rows: LatencyRow[] = [];
  let handlerPreludeMs = 0;
  try {
    ctx.log(`wake latency: ${o.n} jobs through npm run dev (kick on, cron off)`);
    const dev = await startDevServer({
      ...SECRETS, DATABASE_URL: url, SLUICE_DEV_CRON_MS: '0', SLUICE_KICK: 'true', EMAIL_WEBHOOK_URL: receiver.url,
    });
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const answered: { ms: number; at: number }[] = [];
      const afterAnswer: number[] = [];
      const ms = await oneAtATime(
        { ...o, clock, key: email },
        (i) => enqueueOverHttp(dev.base, i, answered),
        () => gone(db),
        (i, startedAt) => { if (i >= o.warmup) afterAnswer.push(startedAt - answered[i]!.at); },
      );
      const left = await db.query<{ status: string; n: number }>("select status, count(*)::int as n from sluice.jobs where status <> 'completed' group by status");
      if (left.rows.length) ctx.log(`  ! jobs left after the run: ${JSON.stringify(left.rows)}`);
      rows.push({ system: 'sluice', wakeUp: 'kick after the 202 (npm run dev, no cron)', ...percentiles(ms), enqueueP50Ms: percentiles(answered.slice(o.warmup).map((a) => a.ms)).p50Ms, afterAnswerP50Ms: percentiles(afterAnswer).p50Ms });
      handlerPreludeMs = await prelude(db, clock, receiver.url);
    } finally {
      await db.end();
      await dev.stop();
    }
    log(ctx, rows.at(-1)!);
    const graphile = ctx.systems.find((s) => s.name === 'graphile-worker');
    if (graphile) {
      rows.push({ system: 'graphile-worker', wakeUp: 'LISTEN/NOTIFY (defaults)', ...percentiles(await graphileLatency(graphile.direct.pgUrl, o)) });
      log(ctx, rows.at(-1)!);
    }
    const boss = ctx.systems.find((s) => s.name === 'pg-boss');
    if (boss) {
      rows.push({ system: 'pg-boss', wakeUp: 'LISTEN/NOTIFY (useListenNotify, queue notify)', ...percentiles(await pgBossLatency(boss.direct.pgUrl, 'notify', { ...o, lanes: 1 })) });
      log(ctx, rows.at(-1)!);
      const lanes = 8;
      const poll = await pgBossLatency(boss.direct.pgUrl, 'poll', { ...o, jitterMs: 500, lanes });
      rows.push({ system: 'pg-boss', wakeUp: `polling every 0.5 s (its minimum; ${lanes} queues side by side, random gaps)`, ...percentiles(poll) });
      log(ctx, rows.at(-1)!);
    }
  } finally {
    await receiver.close();
  }
  return { jobs: o.n, warmup: o.warmup, gapMs: o.gapMs, rows, handlerPreludeMs };
}

const log = (ctx: Context, r: LatencyRow) =>
  ctx.log(`  ${r.system} (${r.wakeUp}): p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`);

async function enqueueOverHttp(base: string, i: number, answered: { ms: number; at: number }[]) {
  const before = performance.now();
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.ENQUEUE_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'send-welcome-email', payload: { userId: `u${i}`, email: email(i), name: 'Bench' } }),
  });
  const text = await res.text();
  answered.push({ ms: performance.now() - before, at: performance.now() });
  if (res.status !== 202) throw new Error(`POST /api/jobs answered ${res.status}: ${text}`);
}

/** Until the job has ended (its success written; the row stays, completed): the next job must meet an empty queue. */
async function gone(db: pg.Client) {
  for (let i = 0; i < 500; i++) {
    if ((await db.query<{ n: number }>("select count(*)::int as n from sluice.jobs where status <> 'completed'")).rows[0]!.n === 0) return;
    await sleep(2);
  }
}

/** The median time of the handler's own work before its POST arrives, replayed here (rolled back). */
async function prelude(db: pg.Client, clock: Clock, webhook: string): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 30; i++) {
    const to = `prelude${i}@example.com`;
    const before = performance.now();
    await db.query('begin');
    await db.query(`insert into sent_emails (key, "to", subject) values ($1, $2, 'x') on conflict do nothing returning key`, [`p:${i}`, to]);
    await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to }) }).then((r) => r.text());
    ms.push((await clock.wait(to)) - before);
    await db.query('rollback');
  }
  return percentiles(ms).p50Ms;
}
