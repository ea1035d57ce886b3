import { Queue, Worker } from 'bullmq';
import { batches, handlerCounter, payload, settle, timed, timedCalls, type Endpoints, type SystemInfo, type SystemSetup, type SystemWorker } from './types.js';

const QUEUE = 'noop';
/**
 * BullMQ runs `concurrency` jobs at once per worker; each job costs a fetch (moveToActive) whose
 * completion script also fetches the next job, so concurrency is its throughput knob. 100 is twice
 * the example in its concurrency guide; completed jobs are removed at once, as Sluice deletes them.
 */
const WORKER = { concurrency: 100, removeOnComplete: { count: 0 } };

export const info: SystemInfo = { name: 'bullmq', pkg: 'bullmq', settings: { worker: WORKER } };

const connection = (redis: Endpoints['redis']) => ({ ...redis!, maxRetriesPerRequest: null });
const entry = (i: number) => ({ name: QUEUE, data: payload(i) });
const bulk = (n: number) => Array.from({ length: n }, (_, i) => entry(i));

async function notDone(queue: Queue) {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** BullMQ needs no install; `direct` is the un-relayed Redis. */
export function setup(direct: Endpoints): SystemSetup {
  const queue = new Queue(QUEUE, { connection: connection(direct.redis) });
  return {
    install: async () => direct,
    async reset() {
      await queue.obliterate({ force: true });
    },
    async seed(n) {
      for (let i = 0; i < n; i += 10_000) await queue.addBulk(bulk(Math.min(10_000, n - i)));
    },
    remaining: () => notDone(queue),
    close: () => queue.close(),
  };
}

async function ready(at: Endpoints) {
  const queue = new Queue(QUEUE, { connection: connection(at.redis) });
  await queue.waitUntilReady();
  return queue;
}

export const worker: SystemWorker = {
  async drain(at, direct, n, capMs) {
    const counter = handlerCounter(n, capMs);
    const w = new Worker(QUEUE, async () => { counter.hit(); }, { connection: connection(at.redis), ...WORKER });
    w.on('error', (e) => console.error('bullmq error:', e.message));
    const check = new Queue(QUEUE, { connection: connection(direct.redis) });
    const result = await settle(counter, n, capMs, () => notDone(check));
    await w.close(true);
    await check.close();
    return result;
  },
  async enqueueBulk(at, n, calls) {
    const queue = await ready(at);
    const ms = await timedCalls(batches(n, calls, entry), (batch) => queue.addBulk(batch));
    await queue.close();
    return ms;
  },
  async enqueueSingle(at, n) {
    const queue = await ready(at);
    const ms = await timed(async () => { for (let i = 0; i < n; i++) await queue.add(QUEUE, payload(i)); });
    await queue.close();
    return ms;
  },
};
