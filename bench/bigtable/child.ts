/**
 * The big-table scenario's child: child-core's protocol, with the system's big-table drain (its
 * completion check finds the seeded jobs among millions of rows; Sluice's drain defines the paused
 * type too). Forked by fork.ts's runChild with this file as its entry.
 */
import { serve } from '../child-core.js';
import type { SystemWorker } from '../systems/types.js';
import { bigSystems } from './types.js';

const unused = () => Promise.reject(new Error('the big-table child only drains'));

serve(async (system): Promise<SystemWorker> => {
  const big = await bigSystems[system]!();
  return { drain: (at, direct, n, capMs, options) => big.drain(at, direct, n, capMs, options ?? {}), enqueueBulk: unused, enqueueSingle: unused };
});
