/**
 * A bench-only Sluice app in a process of its own (wake-backlog, wake-idle): the one job type `sleep5`,
 * served by serve() from lib/adapters/node.ts, so ticks, fan-out self-calls (POST /api/drain) and
 * continuations travel over real HTTP as in a deployment, and share this one Node process as they
 * would not on Vercel. argv[2] is JSON { url, settings }; it answers 'ready' (its URL) and 'stats' over IPC.
 */
import { serve } from '../../lib/adapters/node.js';
import type { Config } from '../../lib/queue/index.js';
import { createSluice } from '../../lib/sluice.js';
import { handlerHooks, sleep5 } from './jobs.js';

export interface AppStats {
  /** CPU time of this process so far (user + system), ms. */
  cpuMs: number;
  /** Handlers running, integrated over time (ms x handlers): its growth over a span / the span = the average. */
  handlerMs: number;
  peakHandlers: number;
  /** POST /api/drain requests served: fanned-out and continuing drains started. */
  drainCalls: number;
}

const { url, settings } = JSON.parse(process.argv[2]!) as { url: string; settings: Partial<Config> };
const sluice = createSluice({ jobs: [sleep5], url, settings });

const stats: AppStats = { cpuMs: 0, handlerMs: 0, peakHandlers: 0, drainCalls: 0 };
let running = 0;
let since = performance.now();
const step = (delta: number) => {
  const now = performance.now();
  stats.handlerMs += running * (now - since);
  since = now;
  running += delta;
  stats.peakHandlers = Math.max(stats.peakHandlers, running);
};
handlerHooks.started = () => step(1);
handlerHooks.ended = () => step(-1);

const server = await serve({
  fetch: (request, env) => {
    if (request.method === 'POST' && new URL(request.url).pathname === '/api/drain') stats.drainCalls++;
    return sluice.fetch(request, env);
  },
}, { port: 0 });
process.send!({ type: 'ready', url: server.url });
process.on('message', (m: { type: string }) => {
  if (m.type !== 'stats') return;
  step(0);
  const cpu = process.cpuUsage();
  process.send!({ type: 'stats', ...stats, cpuMs: (cpu.user + cpu.system) / 1000 });
});
