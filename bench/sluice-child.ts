/** Sluice's child alone, so it can be bundled and run by plain Node (see child-core.ts). */
import { serve } from './child-core.js';
import { worker } from './systems/sluice.js';

serve(async (system) => {
  if (system !== 'sluice') throw new Error(`sluice-child runs Sluice only, not ${system}`);
  return worker;
});
