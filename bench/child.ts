/**
 * One measurement in a process of its own: a drain is "one process" as the issue asks, its peak
 * memory is its own, and a cold drain really starts cold. fork.ts starts it with tsx's loader; only
 * the measured system's modules are imported.
 */
import { serve } from './child-core.js';
import { systems } from './systems/index.js';

serve(async (system) => (await systems[system].load()).worker);
