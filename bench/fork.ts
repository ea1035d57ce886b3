import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildTask } from './child-core.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
// Under the root's node_modules, so the bundle resolves pg, drizzle and zod exactly as the app does.
const PLAIN = fileURLToPath(new URL('../node_modules/.cache/sluice-bench/sluice-child.mjs', import.meta.url));

let bundled: Promise<unknown> | undefined;
/** Bundles sluice-child.ts (our code only; packages stay imports) for plain Node, once per run. */
function bundle() {
  bundled ??= import('esbuild').then((esbuild) =>
    esbuild.build({
      entryPoints: [fileURLToPath(new URL('./sluice-child.ts', import.meta.url))],
      outfile: PLAIN, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    }));
  return bundled;
}

export interface ChildOutcome<R> {
  result: R;
  /** Peak resident memory of the child process, MB (getrusage ru_maxrss). */
  maxRssMb: number;
  /** Resident memory once modules were loaded, before the task. */
  baseRssMb: number;
  /** Spawn of the process to its result: Node, tsx and module loading included. */
  wallMs: number;
}

/**
 * Runs one task in a new Node process with the same loader (tsx) as this one, or, with `plain` (Sluice
 * only), a bundle of it in plain Node. `onFirst` fires when the child's first handler runs, so the
 * caller can read relay counters at that moment. `entry` is another child under tsx speaking
 * child-core's protocol (the flow scenario's flow/child.ts).
 */
export async function runChild<R>(task: ChildTask, onFirst?: (ms: number) => void, plain = false, entry = CHILD): Promise<ChildOutcome<R>> {
  if (plain) await bundle();
  const spawned = performance.now();
  const child = fork(plain ? PLAIN : entry, [JSON.stringify(task)], {
    execArgv: plain ? [] : process.execArgv.filter((a) => a !== '--eval'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'first') onFirst?.(m.ms);
      else if (m.type === 'result') {
        settled = true;
        resolve({ result: m.result as R, maxRssMb: m.maxRssMb, baseRssMb: m.baseRssMb, wallMs: performance.now() - spawned });
      } else {
        settled = true;
        reject(new Error(`${task.kind} of ${task.system} failed in its process:\n${m.message}`));
      }
      // A library may keep timers alive after its work is done; the measurement is over, so end it.
      if (settled) setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`${task.kind} of ${task.system}: process exited with ${code} before a result`));
    });
  });
}
