import { PgDialect } from 'drizzle-orm/pg-core';
import type { SQL } from 'drizzle-orm';
import { z } from 'zod';
import { serve, type NodeServer } from '../../lib/adapters/node.js';
import { createSluice, defineJob, type Config, type Db, type ScheduleDefinition, type Sluice } from '../../lib/index.js';
import { memoryHintStore, type HintStore } from '../../lib/wake/hint.js';
import { SECRETS } from '../http/context.js';
import { client } from '../http/support.js';

const dialect = new PgDialect();

/**
 * The database, with every statement Sluice sends recorded (its SQL text) and, while `failClaims` is
 * set, claims failing as a lost connection would. Everything else reaches the real Postgres.
 */
export function watchedDb(db: Db) {
  const statements: string[] = [];
  const state = { failClaims: false, emptyClaims: 0 };
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'execute') return Reflect.get(target, property, receiver);
      return (query: SQL) => {
        const text = dialect.sqlToQuery(query).sql;
        statements.push(text);
        const claim = text.includes('claimed as');
        if (claim && state.failClaims) return Promise.reject(Object.assign(new Error('connection terminated'), { code: '57P01' }));
        const result = Promise.resolve(target.execute(query)); // once: drizzle runs a query per then()
        // A pass that ends on an empty queue ends with an empty claim: these count passes.
        if (claim) void result.then((r) => { if ((r as unknown as { rows: { jobs: unknown[] }[] }).rows[0]?.jobs.length === 0) state.emptyClaims++; }, () => {});
        return result;
      };
    },
  });
  const claims = () => statements.filter((s) => s.includes('claimed as')).length;
  return { db: proxy as Db, statements, state, claims };
}

/** Runs of the test job types: which ids started, in order, and how often each. */
export function runLog() {
  const started: string[] = [];
  const runs = new Map<string, number>();
  return {
    started,
    runs,
    record(id: string) {
      started.push(id);
      runs.set(id, (runs.get(id) ?? 0) + 1);
    },
  };
}

export type WakeApp = Awaited<ReturnType<typeof startWakeApp>>;

/**
 * A Sluice instance with `jobs` over a watched database, served over real HTTP (kicks and hand-overs
 * call its own /api/drain), every /api/drain body recorded. Settings: the test secrets, then `settings`.
 */
export async function startWakeApp(
  db: Db, jobs: ReturnType<typeof defineJob>[], settings: Partial<Config> = {}, hints: HintStore = memoryHintStore(), schedules: ScheduleDefinition[] = [],
) {
  const watched = watchedDb(db);
  const drainBodies: unknown[] = [];
  let server!: NodeServer;
  const sluice: Sluice = createSluice({
    jobs, db: watched.db, hints, schedules,
    settings: { ...SECRETS, DRAIN_SAFETY_MARGIN_MS: 200, ...settings },
  });
  const app = {
    fetch: async (request: Request, env?: Parameters<Sluice['fetch']>[1]) => {
      if (new URL(request.url).pathname === '/api/drain') drainBodies.push(await request.clone().json().catch(() => null));
      return sluice.fetch(request, env);
    },
  };
  server = await serve(app, { port: 0 });
  return { sluice, server, call: client(server.url), watched, drainBodies, hints, close: () => server.close() };
}

/** A job type that records its runs and waits `ms` (or on `gate`). */
export function recordingJob(type: string, log: ReturnType<typeof runLog>, ms = 0, gate?: () => Promise<void>) {
  return defineJob({
    type,
    payload: z.object({ n: z.number() }),
    timeoutMs: 30_000,
    handler: async (_payload, ctx) => {
      log.record(ctx.job.id);
      if (gate) await gate();
      if (ms) await new Promise((r) => setTimeout(r, ms));
    },
  });
}
