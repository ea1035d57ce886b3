/**
 * The systems under test, loaded lazily: a child process imports only the one it measures, so a
 * peer's module graph never weighs on another's memory or start-up.
 */
import type { SystemInfo, SystemWorker } from './types.js';

export type SystemName = 'sluice' | 'pg-boss' | 'graphile-worker' | 'bullmq';

type Module = { info: SystemInfo; worker: SystemWorker };

export const systems: Record<SystemName, { store: 'postgres' | 'redis'; load(): Promise<Module> }> = {
  sluice: { store: 'postgres', load: () => import('./sluice.js') },
  'pg-boss': { store: 'postgres', load: () => import('./pgboss.js') },
  'graphile-worker': { store: 'postgres', load: () => import('./graphile.js') },
  bullmq: { store: 'redis', load: () => import('./bullmq.js') },
};

export const SYSTEM_NAMES = Object.keys(systems) as SystemName[];
