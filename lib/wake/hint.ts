import { getCache } from '@vercel/functions';

/**
 * The idle hint: when work is next due, kept outside Postgres so a tick on an idle queue need not
 * wake the database (a Neon compute that is queried every minute never scales to zero). It is only
 * a hint: lost or stale, it costs at most the delay until the next full check (SLUICE_IDLE_CHECK_MS).
 */
export interface DueHint {
  /** The earliest time (epoch ms) work is known to be due; null when nothing is known to be pending. */
  dueAt: number | null;
  /** When a drain last queried the database (a full check). */
  checkedAt: number;
  /** When an enqueue last wrote dueAt: a drain that looked before then must not erase it. */
  notedAt: number;
  /** While a drain runs: when the leases it may take would all have expired, were it to die. A drain
   *  that ends clears it; one that crashed leaves it, and the tick after it queries (the rescue). */
  leaseUntil?: number | null;
}

/** Where the hint lives: shared by every instance where the platform has a cache, else in memory. */
export interface HintStore {
  get(): Promise<DueHint | null>;
  set(hint: DueHint): Promise<void>;
}

/** One instance's memory: what a warm function (or the npm run dev process) remembers. */
export function memoryHintStore(): HintStore {
  let hint: DueHint | null = null;
  return {
    get: async () => hint,
    set: async (next) => void (hint = { ...next }),
  };
}

/**
 * Vercel's Runtime Cache (@vercel/functions getCache), shared by the deployment's instances, so the
 * cron's instance sees what an enqueue on another wrote. Outside a Vercel request (vercel dev, a
 * build) getCache serves an in-memory cache. A cache error reads as "no hint", which makes the tick
 * query: the safe side. Each app (lib/queue/app.ts) has its own key: one app's empty drain must not
 * tell another's ticks that nothing is due.
 */
export function runtimeCacheHintStore(app: string | (() => string)): HintStore {
  const cache = getCache({ namespace: 'sluice' });
  const key = () => `due-hint:${typeof app === 'function' ? app() : app}`;
  return {
    get: async () => {
      try {
        const value = (await cache.get(key())) as DueHint | null;
        return value && typeof value.checkedAt === 'number' ? value : null;
      } catch {
        return null;
      }
    },
    set: async (hint) => {
      // A day: past it the hint is stale anyway (a full check happens every SLUICE_IDLE_CHECK_MS).
      await cache.set(key(), hint, { ttl: 86_400 }).catch(() => {});
    },
  };
}

/** Vercel's Runtime Cache on Vercel (VERCEL=1, vercel dev included), under the app's key, else this instance's memory. */
export function defaultHintStore(app: string | (() => string)): HintStore {
  return process.env.VERCEL === '1' ? runtimeCacheHintStore(app) : memoryHintStore();
}
