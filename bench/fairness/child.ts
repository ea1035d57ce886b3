/**
 * The fairness scenario's child: child-core's protocol, with a drain that works the two tenants' jobs
 * in the task's mode and enqueues the small tenant's while it runs. Forked by fork.ts's runChild with
 * this file as its entry.
 */
import { serve } from '../child-core.js';
import type { SystemWorker } from '../systems/types.js';
import { fairnessSystems } from './systems.js';
import { measure, type FairnessOptions } from './work.js';

const unused = () => Promise.reject(new Error('the fairness child only drains'));

serve(async (system): Promise<SystemWorker> => {
  const module = await fairnessSystems[system]!();
  return {
    async drain(at, direct, n, capMs, options) {
      const o = options as unknown as FairnessOptions;
      return measure(o, n, capMs, await module.worker(at, direct, o.mode));
    },
    enqueueBulk: unused,
    enqueueSingle: unused,
  };
});
