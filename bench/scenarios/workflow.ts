import { fileURLToPath } from 'node:url';
import { connect, migrate } from '../../lib/queue/index.js';
import { round, withPort, type Context } from '../context.js';
import { startRelay, type Relay } from '../relay.js';
import { percentiles, sleep, type Percentiles } from '../wake/clock.js';
import { forkApp, type ForkedApp } from '../wake/processes.js';
import type { FloorAnswer, InvokeAnswer, Request, SendAnswer, StepsAnswer } from '../workflow/app.js';

const APP = fileURLToPath(new URL('../workflow/app.ts', import.meta.url));

/** One workflow through the counting relay: what the app sent Postgres, and the drain invocations it took. */
export interface CountedRow {
  what: string;
  statements: number;
  /** Client round trips. */
  turns: number;
  invocations: number;
}

export interface Workflow {
  /** Samples per latency row, after `warmup` unreported ones, `gapMs` of quiet before each. */
  samples: number;
  warmup: number;
  gapMs: number;
  steps: {
    jobs: number;
    perJob: number;
    /** Each ctx.step's time, call to resolve, as its handler saw it. */
    ms: Percentiles;
    /** The floor: a one-row insert on its own, its own durable commit, on a plain connection of the app's. */
    floor: Percentiles;
    /** What one more step adds: the counts of a job of `perJob` steps less those of a job of ten, per step. */
    statementsPerStep: number;
    turnsPerStep: number;
  };
  /** Ten serial steps: enqueue to the handler's end, and the most drain invocations a sample took. */
  tenSteps: { wallMs: Percentiles; invocations: number };
  /** sendEvent to the waiting handler past its wait; sendEvent's own time at p50. */
  event: { resume: Percentiles; sendP50Ms: number; invocations: number };
  /** ctx.invoke to the child's first line; the child's last line to the parent past the invoke; enqueue to the parent's end at p50. */
  invoke: { childStart: Percentiles; parentResume: Percentiles; wallP50Ms: number; invocations: number };
  counted: CountedRow[];
}

const STEPS = 100;
const GAP_MS = 20;
const WARMUP = 5;

/**
 * Workflows (ctx.step, ctx.waitForEvent, ctx.invoke) on the instance's own paths: the workflow app
 * (workflow/app.ts, createSluice with kicks on, served by serve()) enqueues and kicks, or sends an
 * event (which kicks), as an app's code would; its handlers note when they get where. One workflow at
 * a time, each into an idle queue. First the app on a direct connection, for times; then a second
 * one through a 0 ms relay, for what each workflow sends Postgres.
 */
export async function workflow(ctx: Context): Promise<Workflow> {
  const n = ctx.sizes.workflowSamples;
  const url = await ctx.pg.createDatabase('workflow');
  const seeder = connect(url, { driver: 'pg', max: 1 });
  await migrate(seeder.db).finally(() => seeder.close());
  const env = { SLUICE_LOG_LEVEL: 'warn' };

  ctx.log(`workflow: steps, events and invokes, ${n} samples each (after ${WARMUP} warm-up), direct connection`);
  const timed = await forkApp(APP, { url, observeUrl: url }, env);
  let result: Awaited<ReturnType<typeof timings>>;
  try {
    result = await timings(ctx, timed, n);
  } finally {
    await timed.stop();
  }

  const relay = await startRelay({ target: { host: ctx.pg.host, port: ctx.pg.port }, rttMs: 0, protocol: 'pg' });
  const app = await forkApp(APP, { url: withPort(url, relay.port), observeUrl: url }, env);
  let counted: CountedRow[];
  try {
    counted = await counts(app, relay);
  } finally {
    await app.stop();
    await relay.close();
  }
  const [ten, many] = [counted.find((c) => c.what === 'steps-10')!, counted.find((c) => c.what === `steps-${STEPS}`)!];
  const steps = {
    ...result.steps,
    statementsPerStep: round((many.statements - ten.statements) / (STEPS - 10), 2),
    turnsPerStep: round((many.turns - ten.turns) / (STEPS - 10), 2),
  };
  for (const c of counted) ctx.log(`  ${c.what}: ${c.statements} statements, ${c.turns} round trips, ${c.invocations} drain invocation(s)`);
  return { ...result, steps, counted };
}

const ask = <T>(app: ForkedApp, r: Request) => app.ask<T>(r);

async function timings(ctx: Context, app: ForkedApp, n: number) {
  const jobs = ctx.quick ? 2 : 5;
  const stepMs: number[] = [];
  const floorMs: number[] = [];
  // Alternately, so that both meet the same moments of a shared machine; the first of each warms up.
  for (let j = 0; j < jobs + 1; j++) {
    const a = await ask<StepsAnswer>(app, { type: 'steps', sample: `t-steps-${j}`, steps: STEPS });
    const f = await ask<FloorAnswer>(app, { type: 'floor', n: STEPS });
    if (j > 0) { stepMs.push(...a.stepMs); floorMs.push(...f.ms); }
  }
  const [step, floor] = [percentiles(stepMs), percentiles(floorMs)];
  ctx.log(`  ctx.step: p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, mean ${step.meanMs} ms (${jobs} jobs of ${STEPS} steps); a one-row insert: p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms`);

  const tenWall: number[] = [];
  let tenInvocations = 0;
  for (let i = 0; i < WARMUP + Math.ceil(n / 4); i++) {
    const a = await ask<StepsAnswer>(app, { type: 'steps', sample: `t-ten-${i}`, steps: 10 });
    if (i >= WARMUP) tenWall.push(a.wallMs);
    tenInvocations = Math.max(tenInvocations, a.invocations);
    await sleep(GAP_MS);
  }
  const tenSteps = { wallMs: percentiles(tenWall), invocations: tenInvocations };
  ctx.log(`  ten serial steps: enqueue to end p50 ${tenSteps.wallMs.p50Ms} ms, ${tenInvocations} drain invocation(s) at most`);

  const resume: number[] = [];
  const send: number[] = [];
  let eventInvocations = 0;
  for (let i = 0; i < WARMUP + n; i++) {
    const sample = `t-event-${i}`;
    await ask(app, { type: 'wait', sample });
    await sleep(GAP_MS);
    const a = await ask<SendAnswer>(app, { type: 'send', sample });
    if (i >= WARMUP) { resume.push(a.resumeMs); send.push(a.sendMs); }
    eventInvocations = Math.max(eventInvocations, a.invocations);
    await sleep(GAP_MS);
  }
  const event = { resume: percentiles(resume), sendP50Ms: percentiles(send).p50Ms, invocations: eventInvocations };
  ctx.log(`  event to resume: p50 ${event.resume.p50Ms} ms, p99 ${event.resume.p99Ms} ms (sendEvent itself ${event.sendP50Ms} ms at p50)`);

  const childStart: number[] = [];
  const parentResume: number[] = [];
  const wall: number[] = [];
  let invokeInvocations = 0;
  for (let i = 0; i < WARMUP + n; i++) {
    const a = await ask<InvokeAnswer>(app, { type: 'invoke', sample: `t-invoke-${i}` });
    if (i >= WARMUP) { childStart.push(a.childStartMs); parentResume.push(a.parentResumeMs); wall.push(a.wallMs); }
    invokeInvocations = Math.max(invokeInvocations, a.invocations);
    await sleep(GAP_MS);
  }
  const invoke = { childStart: percentiles(childStart), parentResume: percentiles(parentResume), wallP50Ms: percentiles(wall).p50Ms, invocations: invokeInvocations };
  ctx.log(`  invoke to child start: p50 ${invoke.childStart.p50Ms} ms, p99 ${invoke.childStart.p99Ms} ms; child end to parent resume: p50 ${invoke.parentResume.p50Ms} ms, p99 ${invoke.parentResume.p99Ms} ms`);
  return { samples: n, warmup: WARMUP, gapMs: GAP_MS, steps: { jobs, perJob: STEPS, ms: step, floor }, tenSteps, event, invoke };
}

/** Each workflow once more through the relay, after one of each has opened the pool's connections. */
async function counts(app: ForkedApp, relay: Relay): Promise<CountedRow[]> {
  const rows: CountedRow[] = [];
  const count = async (what: string | null, r: Request) => {
    relay.reset();
    const a = await ask<{ invocations: number }>(app, r);
    const { statements, turns } = relay.stats();
    if (what !== null) rows.push({ what, statements, turns, invocations: a.invocations });
    await sleep(GAP_MS);
  };
  for (const pass of ['warm', 'counted'] as const) {
    const named = (what: string) => (pass === 'warm' ? null : what);
    for (const steps of [0, 10, STEPS]) await count(named(`steps-${steps}`), { type: 'steps', sample: `c-${pass}-steps-${steps}`, steps });
    await count(named('event-wait'), { type: 'wait', sample: `c-${pass}-event` });
    await count(named('event-send'), { type: 'send', sample: `c-${pass}-event` });
    await count(named('invoke'), { type: 'invoke', sample: `c-${pass}-invoke` });
  }
  return rows;
}
