/** The systems with a flow part, loaded lazily as systems/index.ts does: a child imports only its own. */
import type { SystemName } from '../systems/index.js';
import type { FlowModule } from './types.js';

export const flowSystems: Partial<Record<SystemName, () => Promise<FlowModule>>> = {
  sluice: async () => (await import('./sluice.js')).flow,
  'graphile-worker': async () => (await import('./graphile.js')).flow,
  'pg-boss': async () => (await import('./pgboss.js')).flow,
};
