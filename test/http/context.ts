// What the checks of the shared HTTP suite (checks-*.ts) share: the secrets and limits every runtime
// gets, payload and answer helpers, and the context httpSuite (suite.ts) hands each group of checks.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { SuiteOptions } from './suite.js';
import type { Answer, Call, SuiteDb, Webhook } from './support.js';

/** The secrets every runtime is started with (and the in-process API tests, test/support/api.ts). */
export const SECRETS = { ENQUEUE_SECRET: 'test-enqueue-secret', ADMIN_SECRET: 'test-admin-secret', CRON_SECRET: 'test-cron-secret' };
/**
 * Small limits, so 413s take small requests: a welcome payload with a long name is over 256 bytes. And
 * a large one: the checks send wrong secrets on purpose, all from one address, far past the throttle's
 * default (which test/throttle.test.ts checks).
 */
export const LIMITS = { SLUICE_MAX_PAYLOAD_BYTES: '256', SLUICE_MAX_BODY_BYTES: String(256 * 1024), SLUICE_AUTH_MAX_FAILURES: '1000' };
/**
 * Kicks off and every tick querying: each check drives the drains it expects itself (a kick would run
 * a job a check wants pending). Kicks, idle ticks and fan-out have tests of their own (test/wake*.test.ts).
 */
export const QUIET = { SLUICE_KICK: 'off', SLUICE_IDLE_CHECK_MS: '0' };

/** A welcome job's payload; each of its own address, as the job sends one email per address. */
export const welcome = (extra: Partial<{ userId: string; email: string; name: string }> = {}) => {
  const id = randomUUID();
  return { userId: `u-${id}`, email: `ada-${id}@example.com`, name: 'Ada', ...extra };
};
export const allowOf = (res: Answer) => (res.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
export const SUMMARY = {
  claimed: expect.any(Number), completed: expect.any(Number), retried: expect.any(Number), dead: expect.any(Number),
  rescued: expect.any(Number), released: expect.any(Number), durationMs: expect.any(Number), stoppedBy: expect.stringMatching(/^(empty|deadline|maxJobs)$/),
};

/** A request's token: undefined is the right secret, null none at all. */
export const bearer = (token: string | null | undefined, right: string) => (token === null ? undefined : (token ?? right));

/** The running server, database and webhook (read when a test runs), and the call helpers. */
export interface SuiteContext {
  readonly call: Call;
  readonly db: SuiteDb;
  readonly webhook: Webhook;
  enqueue(json: unknown, token?: string | null): Promise<Answer>;
  enqueueRaw(body: string): Promise<Answer>;
  admin(method: string, path: string, token?: string | null): Promise<Answer>;
  enqueueOne(extra?: object, payload?: ReturnType<typeof welcome>): Promise<string>;
  deadJob(): Promise<string>;
  expectNoStore(res: Answer): void;
  expect401(res: Answer): void;
  expect405(res: Answer, allowed: string[]): void;
  expectIssues(res: Answer): void;
  options: SuiteOptions;
}
