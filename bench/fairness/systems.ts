/** The systems with a fairness part, loaded lazily as systems/index.ts does: a child imports only its own. */
import type { SystemName } from '../systems/index.js';
import type { FairnessModule } from './work.js';

export const fairnessSystems: Partial<Record<SystemName, () => Promise<FairnessModule>>> = {
  sluice: async () => (await import('./sluice.js')).fairness,
  'pg-boss': async () => (await import('./pgboss.js')).fairness,
  'graphile-worker': async () => (await import('./graphile.js')).fairness,
};
