/**
 * The flow scenario's child: child-core's protocol, with a drain that runs the system's flow part
 * (keyed jobs, the limit in the task's options) instead of its no-op drain. Forked by fork.ts's
 * runChild with this file as its entry.
 */
import { serve } from '../child-core.js';
import type { SystemWorker } from '../systems/types.js';
import type { FlowLimit } from './types.js';
import { flowSystems } from './systems.js';

const unused = () => Promise.reject(new Error('the flow child only drains'));

serve(async (system): Promise<SystemWorker> => {
  const flow = await flowSystems[system]!();
  return {
    drain: (at, direct, n, capMs, options) => flow.drain(at, direct, n, capMs, (options?.limit ?? null) as FlowLimit),
    enqueueBulk: unused,
    enqueueSingle: unused,
  };
});
