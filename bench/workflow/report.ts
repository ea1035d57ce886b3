import type { Results, Target } from '../report.js';
import type { Workflow } from '../scenarios/workflow.js';
import type { Percentiles } from '../wake/clock.js';

/** The workflow scenario's targets, against the anchors its peers publish, and its section of latest.md. */

const none = (what: string, goal: string): Target => ({ what, goal, measured: 'not measured', met: null });
const counted = (w: Workflow, what: string) => w.counted.find((c) => c.what === what);
const many = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export function workflowTargets(r: Results): Target[] {
  const w = r.workflow;
  const stepWhat = 'statements per durable step (ctx.step, trivial fn)';
  const stepGoal = '<= 1 (DBOS: one database write per step)';
  const tenWhat = 'ten serial steps, enqueue to end: drain invocations';
  const tenGoal = '1 (Vercel Workflow: one invocation)';
  const eventWhat = 'event to resume: sluice.sendEvent (kick) to the handler past ctx.waitForEvent';
  const eventGoal = 'p50 and p99 <= 50 ms';
  if (!w) return [none(stepWhat, stepGoal), none(tenWhat, tenGoal), none(eventWhat, eventGoal)];
  const s = w.steps;
  const ten = counted(w, 'steps-10');
  const invocations = Math.max(w.tenSteps.invocations, ten?.invocations ?? 0);
  return [
    { what: stepWhat, goal: stepGoal, measured: `${many(s.statementsPerStep, 'statement')}, ${many(s.turnsPerStep, 'round trip')}; ${s.ms.p50Ms} ms at p50, ${s.ms.p99Ms} ms at p99 (a one-row insert alone: ${s.floor.p50Ms} / ${s.floor.p99Ms} ms)`, met: s.statementsPerStep <= 1 },
    { what: tenWhat, goal: tenGoal, measured: `${invocations}${ten ? `; ${ten.turns} round trips (${ten.statements} statements)` : ''}; ${w.tenSteps.wallMs.p50Ms} ms at p50`, met: invocations <= 1 },
    { what: eventWhat, goal: eventGoal, measured: `p50 ${w.event.resume.p50Ms} ms, p99 ${w.event.resume.p99Ms} ms`, met: w.event.resume.p50Ms <= 50 && w.event.resume.p99Ms <= 50 },
  ];
}

const row = (what: string, span: string, p: Percentiles) => `| ${what} | ${span} | ${p.p50Ms} ms | ${p.p95Ms} ms | ${p.p99Ms} ms | ${p.maxMs} ms |`;

const COUNTED: Record<string, string> = {
  'steps-0': 'a job of no steps: enqueue, kick, run',
  'steps-10': 'ten serial steps: enqueue to the job\'s end',
  'steps-100': '100 serial steps: enqueue to the job\'s end',
  'event-wait': 'ctx.waitForEvent: enqueue to the job waiting',
  'event-send': 'sluice.sendEvent to the job\'s end',
  invoke: 'ctx.invoke: parent, child, parent again, to the parent\'s end',
};

export function workflowLines(w: Workflow): string[] {
  const lines = ['', `**Workflows**, one at a time, each into an idle queue, on the instance's own paths: an app process (\`createSluice\`, kicks on, served by \`serve()\`, no cron) enqueues and calls \`sluice.kick()\`, or calls \`sluice.sendEvent()\`, which kicks the jobs it wakes; its handlers note when they get where. Times: ${w.samples} samples a row after ${w.warmup} warm-up ones (ten-step workflows: ${w.tenSteps.wallMs.samples}; steps: every step of ${w.steps.jobs} jobs of ${w.steps.perJob}), ${w.gapMs} ms of quiet before each, on a direct connection.`, ''];
  lines.push('| what | from, to | p50 | p95 | p99 | max |', '| --- | --- | ---: | ---: | ---: | ---: |');
  lines.push(row('durable step (ctx.step, trivial fn)', 'call, resolve', w.steps.ms));
  lines.push(row('a one-row insert alone, its own commit (a step\'s floor)', 'query, answer', w.steps.floor));
  lines.push(row('ten serial steps', 'before the enqueue, the handler\'s end', w.tenSteps.wallMs));
  lines.push(row('event to resume', 'before sluice.sendEvent, the handler past ctx.waitForEvent', w.event.resume));
  lines.push(row('invoke to child start', 'the parent\'s ctx.invoke, the child\'s first line', w.invoke.childStart));
  lines.push(row('child end to parent resume', 'the child\'s last line, the parent past ctx.invoke', w.invoke.parentResume));
  lines.push('', 'What each workflow sent Postgres, counted by a 0 ms relay from its first statement to its last (after one of each had opened the pool\'s connections), and the drain invocations it took (the kick, and any drain started by POST /api/drain):', '');
  lines.push('| workflow | statements | round trips | drain invocations |', '| --- | ---: | ---: | ---: |');
  for (const c of w.counted) lines.push(`| ${COUNTED[c.what] ?? c.what} | ${c.statements} | ${c.turns} | ${c.invocations} |`);
  lines.push('', `Each step adds ${many(w.steps.statementsPerStep, 'statement')} and ${many(w.steps.turnsPerStep, 'round trip')} (a job of ${w.steps.perJob} steps less one of ten, per step): its record, with its duration, in one statement that commits on its own; a run's first step also reads the job's stored steps and its type's step estimates. DBOS records each step's output in Postgres, one write per step. Vercel's Workflow DevKit runs serial steps inline, in the function invocation that replays the workflow; here every ten-step workflow ran in ${many(w.tenSteps.invocations, 'drain invocation')}, the kick after its enqueue. \`sluice.sendEvent\` answered in ${w.event.sendP50Ms} ms at p50 (the event and its wake, one durable commit); its kick's drain then claims the job and replays it to its wait. An invoke's child starts in the parent's drain pass, whose next claim takes it once the parent lets go of its job; the child's end, written with the pass's next claim, makes the parent due, and the claim after takes it: ${many(w.invoke.invocations, 'drain invocation')} at most from the parent's enqueue to its end (${w.invoke.wallP50Ms} ms at p50).`);
  return lines;
}
