/**
 * The workflow scenario's app in a process of its own: one instance (createSluice, kicks on) served by
 * serve() from lib/adapters/node.ts, with SLUICE_BASE_URL at its own address, so a drain that hands
 * over calls POST /api/drain as in a deployment (counted). argv[2] is JSON { url, observeUrl }: the
 * instance's database (direct, or through the scenario's counting relay) and a direct one on which the
 * app watches jobs, outside what is counted. It answers 'ready' (its URL), then runs one sample per
 * request (see Request), each as an app's code would: enqueue then kick, or sendEvent (which kicks).
 */
import pg from 'pg';
import { serve } from '../../lib/adapters/node.js';
import { createSluice } from '../../lib/sluice.js';
import { sleep } from '../wake/clock.js';
import { clock, EVENT, parentJob, stepMs, stepsJob, waitJob, workflowJobs } from './jobs.js';

export type Request =
  | { type: 'floor'; n: number }
  | { type: 'steps'; sample: string; steps: number }
  | { type: 'wait'; sample: string }
  | { type: 'send'; sample: string }
  | { type: 'invoke'; sample: string };

/** Each of `n` one-row inserts, one after another, each its own durable commit: what a step's write costs at the least. */
export interface FloorAnswer { ms: number[] }
/** What every sample answers: drain invocations it took (the kick, plus drains started by POST /api/drain). */
interface Answer { invocations: number }
export interface StepsAnswer extends Answer { stepMs: number[]; wallMs: number }
/** From just before sendEvent to the handler past its wait, and sendEvent's own time (it answers before the kick's drain runs). */
export interface SendAnswer extends Answer { resumeMs: number; sendMs: number }
/** From the parent's ctx.invoke to the child's first line, and from the child's last line to the parent past the invoke. */
export interface InvokeAnswer extends Answer { childStartMs: number; parentResumeMs: number; wallMs: number }

const { url, observeUrl } = JSON.parse(process.argv[2]!) as { url: string; observeUrl: string };

let drainCalls = 0;
const server = await serve({
  fetch: (request, env) => {
    if (request.method === 'POST' && new URL(request.url).pathname === '/api/drain') drainCalls++;
    return sluice.fetch(request, env);
  },
}, { port: 0 });
const sluice = createSluice({
  jobs: workflowJobs, url,
  settings: { SLUICE_KICK: true, SLUICE_BASE_URL: server.url, DRAIN_SECRET: 'bench-drain-secret' },
});
const observer = new pg.Client({ connectionString: observeUrl });
await observer.connect();

const ids = new Map<string, string>();

async function status(id: string): Promise<string> {
  return (await observer.query<{ status: string }>('select status from sluice.jobs where id = $1', [id])).rows[0]?.status ?? 'gone';
}

/** Until the job has finished (deleted, or kept completed): at most 30 s, for drains handed over. */
async function finished(id: string): Promise<void> {
  for (const started = performance.now(); performance.now() - started < 30_000; await sleep(1)) {
    if (['gone', 'completed'].includes(await status(id))) return;
  }
  throw new Error(`job ${id} did not finish within 30 s`);
}

/** Runs a sample's `work`, which kicks `kicks` times (each a drain invocation) and waits for its job to finish. */
async function sampled<T>(kicks: number, work: () => Promise<T>): Promise<T & Answer> {
  const before = drainCalls;
  const answer = await work();
  return { ...answer, invocations: kicks + drainCalls - before };
}

async function answer(r: Request): Promise<unknown> {
  if (r.type === 'floor') {
    await observer.query('create table if not exists bench_floor (job_id uuid, name text, result jsonb)');
    const ms: number[] = [];
    for (let i = 0; i < r.n; i++) {
      const before = performance.now();
      await observer.query(`insert into bench_floor values (gen_random_uuid(), $1, '1'::jsonb)`, [`s${i}`]);
      ms.push(performance.now() - before);
    }
    return { ms };
  }
  if (r.type === 'steps') {
    return sampled(1, async () => {
      const started = performance.now();
      const { id } = await sluice.enqueue(stepsJob, { sample: r.sample, steps: r.steps });
      await sluice.kick();
      await finished(id);
      return { stepMs: stepMs.get(r.sample)!, wallMs: (await clock.wait(`${r.sample}:done`)) - started };
    });
  }
  if (r.type === 'wait') {
    return sampled(1, async () => {
      const { id } = await sluice.enqueue(waitJob, { sample: r.sample });
      ids.set(r.sample, id);
      await sluice.kick();
      const now = await status(id);
      if (now !== 'waiting') throw new Error(`job ${id} is ${now} after its first run, not waiting`);
      return {};
    });
  }
  if (r.type === 'send') {
    return sampled(1, async () => {
      const before = performance.now();
      const { delivered } = await sluice.sendEvent(EVENT, { key: r.sample, data: { sample: r.sample } });
      const sendMs = performance.now() - before;
      if (delivered !== 1) throw new Error(`sendEvent was delivered to ${delivered} jobs, not 1`);
      const resumeMs = (await clock.wait(`${r.sample}:resumed`)) - before;
      await finished(ids.get(r.sample)!);
      return { resumeMs, sendMs };
    });
  }
  return sampled(1, async () => {
    const started = performance.now();
    const { id } = await sluice.enqueue(parentJob, { sample: r.sample });
    await sluice.kick();
    await finished(id);
    const at = async (what: string) => clock.wait(`${r.sample}:${what}`);
    const [invoked, childStart, childEnd, resumed] = [await at('invoke'), await at('child-start'), await at('child-end'), await at('resumed')];
    return { childStartMs: childStart - invoked, parentResumeMs: resumed - childEnd, wallMs: resumed - started };
  });
}

process.on('message', (r: Request) => {
  answer(r).then(
    (a) => process.send!({ ...(a as object), type: r.type }),
    (e: unknown) => process.send!({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }),
  );
});
process.send!({ type: 'ready', url: server.url });
