import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import { oneAtATime, startClock } from './clock.js';

/**
 * The always-on workers the kick is compared with, each in this process beside its producer, both
 * started before the first job (an always-on worker's whole point): enqueue-to-handler-start latency,
 * one job at a time. Every worker keeps its library's defaults but the wake-up path named.
 */
export interface PeerRun { n: number; warmup: number; gapMs: number; jitterMs?: number }

const logger = new Logger(() => (level: string, message: string) => { if (level === 'error') console.error(message); });

/** graphile-worker: defaults (one job at a time, 2 s poll as a fallback), woken by LISTEN/NOTIFY on insert. */
export async function graphileLatency(pgUrl: string, o: PeerRun): Promise<number[]> {
  const clock = startClock();
  const runner = await run({
    connectionString: pgUrl, noHandleSignals: true, logger,
    taskList: { latency: async (p) => clock.hit((p as { k: string }).k) },
  });
  const utils = await makeWorkerUtils({ connectionString: pgUrl, logger });
  try {
    return await oneAtATime({ ...o, clock, key: (i) => `g${i}` }, (i) => utils.addJob('latency', { k: `g${i}` }));
  } finally {
    await utils.release();
    await runner.stop();
  }
}

/**
 * pg-boss 12: `notify` is its LISTEN/NOTIFY path (useListenNotify on the instance, notify on the queue;
 * polling stays as a 30 s backstop); `poll` is plain polling at its smallest allowed interval, 0.5 s,
 * with gaps jittered over one interval. Polling latency does not depend on load, so `poll` runs in
 * `lanes` queues side by side, each one job at a time, to keep 200 jobs of ~0.5 s each (wait and gap)
 * within the scenario's minute.
 */
export async function pgBossLatency(pgUrl: string, mode: 'notify' | 'poll', o: PeerRun & { lanes: number }): Promise<number[]> {
  const boss = new PgBoss({ connectionString: pgUrl, supervise: false, schedule: false, migrate: false, useListenNotify: mode === 'notify' });
  boss.on('error', (e) => console.error('pg-boss error:', e.message));
  await boss.start();
  const clock = startClock();
  try {
    const lanes = Array.from({ length: o.lanes }, (_, lane) => `latency-${mode}-${lane}`);
    for (const name of lanes) {
      if (!(await boss.getQueue(name))) await boss.createQueue(name, { notify: mode === 'notify' });
      const options = mode === 'poll' ? { pollingIntervalSeconds: 0.5 } : {};
      await boss.work<{ k: string }>(name, options, async ([job]) => clock.hit(job!.data.k));
    }
    const each = Math.ceil(o.n / o.lanes);
    const runs = await Promise.all(lanes.map((name, lane) => oneAtATime(
      { ...o, n: Math.min(each, o.n - lane * each), clock, key: (i) => `${name}:${i}` },
      (i) => boss.send(name, { k: `${name}:${i}` }),
    )));
    return runs.flat();
  } finally {
    await boss.stop({ graceful: false, timeout: 1_000 });
  }
}
