/**
 * The child side of a measurement: takes the task from argv[2] (JSON), runs it, and reports over IPC.
 * `child.ts` serves every system under tsx; `sluice-child.ts` serves Sluice alone, bundled and run by
 * plain Node, for the memory figure (tsx's loader alone adds about 35 MB of RSS).
 */
import type { SystemName } from './systems/index.js';
import { hooks, type Endpoints, type SystemWorker } from './systems/types.js';

export type ChildTask =
  | { kind: 'drain'; system: SystemName; at: Endpoints; direct: Endpoints; n: number; capMs: number; options?: Record<string, unknown> }
  | { kind: 'enqueueBulk'; system: SystemName; at: Endpoints; n: number; calls: number }
  | { kind: 'enqueueSingle'; system: SystemName; at: Endpoints; n: number };

export type ChildMessage =
  | { type: 'first'; ms: number }
  | { type: 'result'; result: unknown; maxRssMb: number; baseRssMb: number }
  | { type: 'error'; message: string };

const send = (m: ChildMessage) => process.send!(m);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function run(load: (system: SystemName) => Promise<SystemWorker>) {
  const task = JSON.parse(process.argv[2]!) as ChildTask;
  const w = await load(task.system);
  // Modules are loaded; what the process holds now is the baseline the task's memory adds to.
  const baseRssMb = mb(process.memoryUsage().rss);
  const started = performance.now();
  hooks.firstJob = () => send({ type: 'first', ms: performance.now() - started });
  let result: unknown;
  if (task.kind === 'drain') result = await w.drain(task.at, task.direct, task.n, task.capMs, task.options);
  else if (task.kind === 'enqueueBulk') result = { ms: await w.enqueueBulk(task.at, task.n, task.calls) };
  else result = { ms: await w.enqueueSingle(task.at, task.n) };
  const maxRssMb = mb(process.resourceUsage().maxRSS * 1024);
  send({ type: 'result', result, maxRssMb, baseRssMb });
}

export function serve(load: (system: SystemName) => Promise<SystemWorker>) {
  run(load).then(
    () => process.disconnect!(),
    (e: unknown) => {
      send({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
      process.disconnect!();
    },
  );
}
