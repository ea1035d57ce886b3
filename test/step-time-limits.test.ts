import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue } from '../lib/queue/index.js';
import { stepTimingsPrune, STEP_TIMINGS_PER_TYPE, STEP_TIMINGS_WINDOW } from '../lib/queue/core/queries-step-timings.js';
import { holdBack, StepEstimates, type RunTime } from '../lib/queue/core/step-fit.js';
import { SECRETS } from './http/context.js';
import { freshDatabase } from './support/db.js';
import { countJobs, UNFINISHED, jobRow, select, waitFor } from './support/sql.js';
import { startWakeApp, type WakeApp } from './support/wake.js';
import { stepRuns, stepsWorkflow } from './support/workflow.js';

// Time limits without double work: a step that would not end before its drain stops is not started;
// the job is handed back and goes on in a fresh invocation at once.
let conn: Awaited<ReturnType<typeof freshDatabase>>;
const apps: WakeApp[] = [];
beforeAll(async () => { conn = await freshDatabase('pg'); });
afterAll(async () => {
  for (const app of apps) await app.close();
  await conn?.close();
});
const timings = (type: string) =>
  select<{ step: string; runs: number }>(conn.db, sql`select step, cardinality(durations_ms) as runs from sluice.step_timings where type = ${type} order by step`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a ten-step workflow under a short function limit', () => {
  it('completes across continuations with no step run twice, each hand-back counted', async () => {
    const log = stepRuns();
    const workflow = stepsWorkflow('ten-steps', 10, 300, log);
    // 1.4 s functions less the 200 ms safety margin: drains of 1.2 s, which stop starting work at 1.08 s.
    const app = await startWakeApp(conn.db, [workflow], { SLUICE_KICK: false, SLUICE_MAX_FANOUT: 1, DRAIN_MAX_DURATION_MS: 1_400, SLUICE_IDLE_CHECK_MS: 0 });
    apps.push(app);
    const { id } = await app.sluice.enqueue('ten-steps', {});
    const tick = await app.call('GET', '/api/cron/drain', { token: SECRETS.CRON_SECRET });
    // The tick's drain ran some steps, handed the job back before one that would not fit, and continued.
    expect(tick.json).toMatchObject({ completed: 0, retried: 0, dead: 0, released: 1, handedBack: 1, stoppedBy: 'deadline', continued: true });
    await waitFor('the continuations to finish the workflow', async () => ((await countJobs(conn.db, UNFINISHED)) === 0 ? true : undefined), 30_000);
    expect(log.once([id], 10)).toBe(true);
    // Every run was attempt 1: each hand-back gave its attempt back.
    expect(log.attempts.length).toBeGreaterThan(1);
    expect(log.attempts.every((a) => a === 1)).toBe(true);
    const hops = app.drainBodies.map((b) => (b as { start: { hop: number; reason: string } }).start);
    expect(hops.map((h) => [h.reason, h.hop])).toEqual(hops.map((_, i) => ['continue', i + 1])); // one chain: 1, 2, 3...
    // Each step's duration rode on the statement that recorded it: no statement of its own, and the
    // estimates were read once per pass at most.
    const touching = app.watched.statements.filter((s) => s.includes('sluice.step_timings'));
    const saves = touching.filter((s) => s.includes('insert into sluice.job_steps'));
    const reads = touching.filter((s) => s.includes('percentile_disc'));
    const prunes = touching.filter((s) => s.includes('delete from sluice.step_timings')); // the tick's housekeeping
    expect(saves).toHaveLength(10);
    expect(reads.length).toBeLessThanOrEqual(hops.length + 1);
    expect(touching).toHaveLength(saves.length + reads.length + prunes.length);
    expect(await timings('ten-steps')).toEqual(Array.from({ length: 10 }, (_, n) => ({ step: `step-${n}`, runs: 1 })));
  });
});

describe('durable estimates', () => {
  it('hold back the first step of a run that starts late, by the step\'s earlier runs', async () => {
    const log = stepRuns();
    const late = stepsWorkflow('starts-late', 1, 400, log);
    const filler = defineJob({ type: 'filler', payload: z.object({}), priority: 1, handler: () => sleep(800) });
    // A first job gives the step a history (one run of ~400 ms).
    const first = await enqueue(conn.db, late, {});
    await drain(conn.db, [late], { budgetMs: 5_000 });
    expect(await countJobs(conn.db, sql`id = ${first.id}`)).toBe(0);
    // One handler at a time: the filler (higher priority) runs first, and the workflow's run starts
    // with under 400 ms left. Its run has finished nothing, yet its step is held back by that history.
    await enqueue(conn.db, filler, {});
    const { id } = await enqueue(conn.db, late, {});
    const pass = await drain(conn.db, [late, filler], { budgetMs: 1_200, concurrency: 1 });
    expect(pass).toMatchObject({ completed: 1, released: 1, handedBack: 1, retried: 0, stoppedBy: 'deadline' });
    expect(log.runs.get(`${id} step-0`)).toBeUndefined();
    const row = (await jobRow(conn.db, id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row.last_error).toMatch(/^handed back before step "step-0": it takes about \d+ ms \(p90 of its last 1 run\(s\)\), \d+ ms were left before the drain stops$/);
    // A fresh drain runs it.
    expect(await drain(conn.db, [late, filler], { budgetMs: 2_000 })).toMatchObject({ completed: 1, handedBack: 0 });
    expect(log.once([first.id, id], 1)).toBe(true);
    expect(await timings('starts-late')).toEqual([{ step: 'step-0', runs: 2 }]);
  });

  it('hand back before a step that would outlast the run\'s timeoutMs: a fresh run goes on in the same drain', async () => {
    const log = stepRuns();
    const capped = stepsWorkflow('timeout-capped', 3, 400, log, 1_000);
    const { id } = await enqueue(conn.db, capped, {});
    // Two steps take 800 ms of the run's 1 s; the third goes to a fresh run (a fresh timeout), at once.
    const pass = await drain(conn.db, [capped], { budgetMs: 5_000 });
    expect(pass).toMatchObject({ completed: 1, released: 1, handedBack: 1, retried: 0, stoppedBy: 'empty' });
    expect(log.once([id], 3)).toBe(true);
    expect(log.attempts).toEqual([1, 1]);
  });

  it('keep a step name\'s last runs, and a tick prunes names past the cap per type or long unused', async () => {
    const quick = stepsWorkflow('window', 1, 0, stepRuns());
    for (let i = 0; i < STEP_TIMINGS_WINDOW + 5; i++) await enqueue(conn.db, quick, {});
    // One at a time: concurrent steps of one name may skip a locked row's sample.
    await drain(conn.db, [quick], { budgetMs: 10_000, concurrency: 1 });
    expect(await timings('window')).toEqual([{ step: 'step-0', runs: STEP_TIMINGS_WINDOW }]);

    await conn.db.execute(sql`insert into sluice.step_timings (type, step, durations_ms, updated_at)
      select 'many', 'page-' || g, array[1], now() - make_interval(secs => g) from generate_series(1, ${STEP_TIMINGS_PER_TYPE + 3}) g`);
    await conn.db.execute(sql`insert into sluice.step_timings (type, step, durations_ms, updated_at) values ('old', 'a', array[1], now() - interval '31 days')`);
    expect(await stepTimingsPrune(conn.db, 10_000)).toBe(4);
    const [kept] = await select<{ n: number; oldest: string }>(conn.db, sql`select count(*)::int as n, max((substr(step, 6))::int)::text as oldest from sluice.step_timings where type = 'many'`);
    expect(kept).toEqual({ n: STEP_TIMINGS_PER_TYPE, oldest: String(STEP_TIMINGS_PER_TYPE) });
    expect(await timings('old')).toEqual([]);
    expect(await timings('window')).toHaveLength(1);
  });
});

describe('holdBack', () => {
  it('reads no history with the percentile at 0', async () => {
    expect(await new StepEstimates(conn.db, 0).of('ten-steps')).toEqual(new Map());
    expect((await new StepEstimates(conn.db, 90).of('ten-steps')).size).toBe(10);
  });

  const time: RunTime = { startedAt: 0, endsAt: 10_000, endsBy: 'stop', freshMs: 10_000 };
  const call = (over: Partial<Parameters<typeof holdBack>[0]> = {}) => ({ name: 's', history: undefined, longestThisRunMs: 0, progressed: false, ...over });
  const history = (estimateMs: number) => ({ estimateMs, runs: 20, percentile: 90 });

  it('starts a call that fits, or that nothing is known of', () => {
    expect(holdBack(call({ history: history(3_000) }), time, 6_000)).toBeNull();
    expect(holdBack(call(), time, 9_999)).toBeNull();
  });

  it('holds back a call that would not fit, by its history, else by the longest step of the run', () => {
    expect(holdBack(call({ history: history(3_000), progressed: true }), time, 8_000)).toEqual({ estimateMs: 3_000, leftMs: 2_000, basis: 'p90 of its last 20 run(s)' });
    expect(holdBack(call({ longestThisRunMs: 3_000, progressed: true }), time, 8_000)).toMatchObject({ basis: 'the longest step of this run' });
    // Its history wins over the run's longest step.
    expect(holdBack(call({ history: history(1_000), longestThisRunMs: 3_000, progressed: true }), time, 8_000)).toBeNull();
  });

  it('with nothing finished in the run, holds back only what a fresh run would fit', () => {
    const late = { ...time, startedAt: 7_000 };
    expect(holdBack(call({ history: history(8_000) }), late, 7_500)).not.toBeNull(); // 0.5 s in + 8 s <= 90% of 10 s
    expect(holdBack(call({ history: history(9_500) }), late, 7_500)).toBeNull(); // would not fit a fresh run either
    expect(holdBack(call({ history: history(8_000) }), late, 9_000)).toBeNull(); // 2 s to reach it + 8 s: a fresh run would not fit it
  });
});
