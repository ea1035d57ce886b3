/**
 * One HTTP test suite for every runtime that serves Sluice (npm run dev, vercel dev, next start, ...):
 * the contract of docs/http-api.md checked over real HTTP, status, JSON body shape and headers only,
 * plus hostile clients that must never get a 500. A runtime is a function that starts a server with
 * the environment the suite hands it and says where it listens:
 *
 *   httpSuite('vercel dev', ({ env }) => startVercelDev({ env }));
 *
 * The suite makes a fresh migrated database for the run, a local email webhook, and the environment
 * (DATABASE_URL, the secrets, small body/payload limits, EMAIL_WEBHOOK_URL), fixed for the server's
 * whole life. It reads the database only through its own SQL (test/http/support.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { freshDatabase } from '../support/db.js';
import { adminChecks } from './checks-admin.js';
import { dashboardChecks } from './checks-dashboard.js';
import { enqueueChecks } from './checks-enqueue.js';
import { routesChecks } from './checks-routes.js';
import { allowOf, bearer, LIMITS, QUIET, SECRETS, type SuiteContext, welcome } from './context.js';
import { type Answer, type Call, client, openDatabase, type SuiteDb, startWebhook, type Webhook } from './support.js';

export { LIMITS, QUIET, SECRETS };

export interface RuntimeServer {
  /** Base URL, no trailing slash: the suite calls `${url}/api/...`. */
  url: string;
  close(): Promise<void>;
}
export interface RuntimeContext {
  /** Exactly the environment to start the server with (it must not pick up other Sluice settings). */
  env: Record<string, string>;
  /** The database the server uses (also in env.DATABASE_URL): migrated unless `migrated: false`. */
  databaseUrl: string;
}
export type StartRuntime = (context: RuntimeContext) => Promise<RuntimeServer>;

export interface SuiteOptions {
  /**
   * false: the suite hands over an empty database and the runtime applies the migrations itself
   * (e.g. an example app's own `npm run db:migrate`). Default: migrated by test/support/db.ts.
   */
  migrated?: boolean;
  /**
   * What the platform does before Sluice sees a request, with the reason, e.g. vercel dev answers any
   * chunked request 500 itself. The suite then checks that instead (refused, nothing inserted).
   */
  platform?: { chunkedRequestsRefused?: string };
}

/**
 * Registers the suite for one runtime. It runs only under vitest.runtimes.config.ts (which sets
 * SLUICE_RUNTIME_SUITE): a plain `npm test` that picks up test/runtimes/ skips it.
 */
export function httpSuite(name: string, start: StartRuntime, options: SuiteOptions = {}): void {
  describe.skipIf(!process.env.SLUICE_RUNTIME_SUITE)(`HTTP API on ${name}`, () => {
    let server: RuntimeServer | undefined;
    let webhook: Webhook;
    let db: SuiteDb;
    let call: Call;
    let closeDatabase = async () => {};

    beforeAll(async () => {
      webhook = await startWebhook();
      const conn = await freshDatabase('pg', { migrated: options.migrated ?? true });
      closeDatabase = () => conn.close();
      const env = { ...SECRETS, ...LIMITS, ...QUIET, DATABASE_URL: conn.url, EMAIL_WEBHOOK_URL: webhook.url };
      server = await start({ env, databaseUrl: conn.url });
      call = client(server.url);
      db = await openDatabase(conn.url);
    });
    afterAll(async () => {
      await server?.close();
      await db?.close();
      await closeDatabase();
      await webhook?.close();
    });
    beforeEach(async () => {
      webhook.status = 200;
      webhook.received.length = 0;
      await db.deleteAllJobs();
    });

    const enqueue = (json: unknown, token?: string | null) => call('POST', '/api/jobs', { token: bearer(token, SECRETS.ENQUEUE_SECRET), json });
    const enqueueRaw = (body: string) =>
      call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, body, headers: { 'content-type': 'application/json' } });
    const admin = (method: string, path: string, token?: string | null) => call(method, path, { token: bearer(token, SECRETS.ADMIN_SECRET) });
    const enqueueOne = async (extra: object = {}, payload = welcome()) => {
      const res = await enqueue({ type: 'send-welcome-email', payload, ...extra });
      expect(res.status, res.text).toBe(202);
      return res.json.id as string;
    };
    /** A dead job, through the routes: the webhook rejects its email (permanent failure) in a drain. */
    const deadJob = async () => {
      const id = await enqueueOne({ priority: 100 }); // claimed before any other
      webhook.status = 400;
      const drained = await call('POST', '/api/drain', { token: SECRETS.CRON_SECRET, json: { maxJobs: 1 } });
      webhook.status = 200;
      expect(drained.json, drained.text).toMatchObject({ claimed: 1, dead: 1 });
      return id;
    };
    const expectNoStore = (res: Answer) => expect(res.headers.get('cache-control') ?? '', `Cache-Control of ${res.status}`).toMatch(/no-store/);
    const expect401 = (res: Answer) => {
      expect(res.status, res.text).toBe(401);
      expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/i);
      expect(res.json?.error).toMatch(/bearer/i);
    };
    const expect405 = (res: Answer, allowed: string[]) => {
      expect(res.status, res.text).toBe(405);
      expect(allowOf(res)).toEqual(expect.arrayContaining(allowed));
    };
    const expectIssues = (res: Answer) => {
      expect(res.status, res.text).toBe(400);
      expect(Array.isArray(res.json?.issues) && res.json.issues.length > 0, `zod issues in ${res.text}`).toBe(true);
    };

    const t: SuiteContext = {
      get call() { return call; }, get db() { return db; }, get webhook() { return webhook; },
      enqueue, enqueueRaw, admin, enqueueOne, deadJob, expectNoStore, expect401, expect405, expectIssues, options,
    };
    routesChecks(t);
    enqueueChecks(t);
    adminChecks(t);
    dashboardChecks(t);
  });
}
