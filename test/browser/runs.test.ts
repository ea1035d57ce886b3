import { sql } from 'drizzle-orm';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serve, type NodeServer } from '../../lib/adapters/node.js';
import { defineJob } from '../../lib/queue/index.js';
import { createSluice, type Sluice } from '../../lib/sluice.js';
import { launchChromium } from '../../scripts/chromium.js';
import { freshDatabase } from '../support/db.js';
import { select } from '../support/sql.js';

// The runs browser (#/runs) and a job's page (#/jobs/<id>) in a real Chromium, over a Sluice of its own
// whose jobs are enqueued and drained for real (steps, a child job, a failed first attempt, a dead end):
// nothing here is mocked, and rows are written by hand only where a state needs time to pass.
// Also the overview's small fixes: plurals, "none due", charts that say why they are empty, no
// sideways scrolling at 390 px, and data read again right after an action.
// The routes over plain HTTP: test/dashboard-runs.test.ts.

const SECRET = 'runs-browser-secret-0123456789';

const notify = defineJob({
  type: 'notify-customer',
  payload: z.object({ orderId: z.string() }),
  handler: async ({ orderId }) => ({ sent: true, orderId }),
});
const importOrders = defineJob({
  type: 'import-orders',
  payload: z.object({ batch: z.number(), failFirst: z.boolean().default(false) }),
  maxAttempts: 3,
  backoff: { baseMs: 1, maxMs: 1 },
  handler: async ({ batch, failFirst }, ctx) => {
    const fetched = await ctx.step('fetch', async () => ({ orders: 3, batch }));
    if (failFirst && ctx.job.attempt === 1) throw new Error(`upstream answered 503 for batch ${batch}`);
    await ctx.step('store', async () => ({ stored: fetched.orders }));
    const receipt = await ctx.invoke('notify', notify, { orderId: `o-${batch}` });
    return { imported: fetched.orders, notified: receipt.sent };
  },
});
const chargeCard = defineJob({
  type: 'charge-card',
  payload: z.object({ amount: z.number() }),
  maxAttempts: 2,
  backoff: { baseMs: 1, maxMs: 1 },
  handler: async () => { throw new Error('card declined: insufficient funds'); },
});

let conn: Awaited<ReturnType<typeof freshDatabase>>;
let sluice: Sluice;
let server: NodeServer;
let browser: Browser;

beforeAll(async () => {
  conn = await freshDatabase('pg');
  sluice = createSluice({ jobs: [importOrders, notify, chargeCard], url: conn.url, settings: { ADMIN_SECRET: SECRET, SLUICE_KICK: false } });
  await sluice.migrate();
  server = await serve(sluice, { port: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sluice?.close();
  await conn?.close();
});

/** Drains until nothing is due (a retry's 1 ms backoff, a parent due again once its child ends). */
async function drainAll() {
  for (let i = 0; i < 20; i++) {
    const summary = await sluice.drain();
    if (summary.claimed === 0) {
      const [due] = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from sluice.jobs where status = 'pending' and run_after <= now() + interval '50 ms'`);
      if (due!.n === 0) return;
    }
  }
  throw new Error('the queue did not settle');
}

async function enqueue(job: typeof importOrders | typeof notify | typeof chargeCard, payload: unknown, options: Record<string, unknown> = {}): Promise<string> {
  const { id } = await sluice.enqueue(job as typeof notify, payload as { orderId: string }, options);
  return id;
}

async function loggedIn(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  await page.goto(`${server.url}/api/dashboard`);
  await page.locator('#password').fill(SECRET);
  await page.locator('button[type=submit]').click();
  await page.locator('[data-test=updated]', { hasText: /^updated / }).waitFor();
  return { context, page };
}

const rowIds = (page: Page) => page.locator('[data-test=run-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')!));
/** Waits for the runs table to have been drawn from an answer (not the loading state). */
const settledRuns = (page: Page) => page.waitForFunction(() => !document.querySelector('#runs-table')?.hasAttribute('aria-busy'));

describe('a fresh install', () => {
  it('the charts say why they are empty, nothing reads "0 ms", and the page does not scroll sideways at 390 px', async () => {
    const { context, page } = await loggedIn({ width: 390, height: 844 });
    await page.locator('#throughput-chart.is-empty').waitFor();
    expect(await page.locator('#throughput-chart').getAttribute('data-empty')).toBe('No runs yet in this range');
    expect(await page.locator('#depth-chart').getAttribute('data-empty')).toMatch(/^No samples yet in this range/);
    expect(await page.locator('[data-test=summary-oldest]').textContent()).toBe('—');
    expect(await page.locator('#summary').textContent()).toContain('none due');
    expect(await page.locator('main').textContent()).not.toMatch(/\b0 ms\b/);
    expect(await page.locator('#times-table').textContent()).toContain('No runs yet in this range.');
    await context.close();
  });
});

describe('with runs', () => {
  const ids: { completed: string[]; retried: string; dead: string; keyed: string } = { completed: [], retried: '', dead: '', keyed: '' };

  beforeAll(async () => {
    // 55 notifications (two pages of 50), an import that fails once and then completes, a charge that dies.
    for (let i = 0; i < 55; i++) ids.completed.push(await enqueue(notify, { orderId: `n-${i}` }));
    ids.keyed = await enqueue(notify, { orderId: 'keyed' }, { idempotencyKey: 'order-4711' });
    ids.retried = await enqueue(importOrders, { batch: 7, failFirst: true });
    ids.dead = await enqueue(chargeCard, { amount: 1299 });
    await drainAll();
    const [row] = await select<{ status: string }>(conn.db, sql`select status from sluice.jobs where id = ${ids.retried}::uuid`);
    expect(row!.status).toBe('completed');
  });

  it('filters by status and type, pages with Older and Newer, and links each row to its job', async () => {
    const { context, page } = await loggedIn();
    await page.goto(`${server.url}/api/dashboard#/runs?status=completed&type=notify-customer`);
    await page.locator('[data-test=run-row]').first().waitFor();
    await settledRuns(page);
    expect(await page.locator('#runs-filter select[name=status]').inputValue()).toBe('completed');
    expect(await page.locator('#runs-when').textContent()).toBe('Completed');
    const first = await rowIds(page);
    expect(first).toHaveLength(50);
    expect(await page.locator('[data-test=run-row]').evaluateAll((rows) => rows.every((r) => r.getAttribute('data-status') === 'completed'))).toBe(true);
    expect(await page.locator('[data-test=runs-newer]').isDisabled()).toBe(true);
    await page.locator('[data-test=runs-older]').click();
    await page.locator('#runs-page', { hasText: 'page 2' }).waitFor();
    await settledRuns(page);
    // 56 enqueued here and the import's child: 57 completed notifications, none twice.
    const second = await rowIds(page);
    expect(second).toHaveLength(7);
    expect(new Set([...first, ...second]).size).toBe(57);
    for (const id of [...ids.completed, ids.keyed]) expect([...first, ...second]).toContain(id);
    expect(await page.locator('[data-test=runs-older]').isDisabled()).toBe(true);
    await page.locator('[data-test=runs-newer]').click();
    await page.locator('#runs-page', { hasText: 'page 1' }).waitFor();
    await settledRuns(page);
    expect(await rowIds(page)).toEqual(first);
    // Newest first, by when each completed (the list's order for a status).
    const times = await select<{ id: string; at: string }>(conn.db, sql`select id, completed_at::text as at from sluice.jobs where id::text = any(string_to_array(${first.join(',')}, ','))`);
    const at = new Map(times.map((t) => [t.id, t.at]));
    const shown = first.map((id) => at.get(id)!);
    expect(shown).toEqual([...shown].sort().reverse());

    // The form: the dead runs of every type, by its controls.
    await page.locator('#runs-filter input[name=type]').fill('');
    await page.locator('#runs-filter select[name=status]').selectOption('dead');
    await page.locator('#runs-filter button[type=submit]').click();
    await page.waitForFunction(() => location.hash === '#/runs?status=dead');
    await page.waitForFunction(() => document.querySelectorAll('[data-test=run-row]').length === 1);
    expect(await rowIds(page)).toEqual([ids.dead]);
    expect(await page.locator('[data-test=run-row]').textContent()).toContain('card declined: insufficient funds');
    expect(await page.locator('[data-test=runs-replay]').isVisible()).toBe(true);
    await page.locator(`[data-test=run-row] a[href="#/jobs/${ids.dead}"]`).click();
    await page.locator('[data-test=job-id]', { hasText: ids.dead }).waitFor();
    await context.close();
  });

  it('filters by time range, job id and idempotency key (the engine\'s filters)', async () => {
    const { context, page } = await loggedIn();
    await page.goto(`${server.url}/api/dashboard#/runs?idempotencyKey=order-4711`);
    await page.waitForFunction(() => document.querySelectorAll('[data-test=run-row]').length === 1);
    expect(await rowIds(page)).toEqual([ids.keyed]);
    await page.goto(`${server.url}/api/dashboard#/runs?id=${ids.retried}`);
    await page.waitForFunction((id) => Array.from(document.querySelectorAll('[data-test=run-row]')).map((r) => r.getAttribute('data-id')).join() === id, ids.retried);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await page.goto(`${server.url}/api/dashboard#/runs?from=${encodeURIComponent(future)}`);
    await page.locator('#runs-table tr.empty', { hasText: 'No runs match this filter.' }).waitFor();
    await context.close();
  });

  it('the job page: timeline of attempts and steps, the child job, payload, result, and the failed attempt\'s error', async () => {
    const { context, page } = await loggedIn();
    await page.goto(`${server.url}/api/dashboard#/jobs/${ids.retried}`);
    await page.locator('[data-test=job-timeline]').waitFor();
    expect(await page.locator('[data-test=job-status]').textContent()).toBe('completed');
    const steps = await page.locator('[data-test=timeline-step] .tl-title strong').allTextContents();
    expect(steps).toEqual(['Step fetch', 'Step store', 'Step notify']);
    expect(await page.locator('[data-test=timeline-end]').textContent()).toContain('Completed');
    expect(await page.locator('[data-test=detail-child] a').textContent()).toBe('notify-customer: completed');
    expect(JSON.parse((await page.locator('[data-test=job-payload]').textContent())!)).toEqual({ batch: 7, failFirst: true });
    expect(JSON.parse((await page.locator('[data-test=job-result]').textContent())!)).toEqual({ imported: 3, notified: true });
    expect(await page.locator('[data-test=job-payload]').textContent()).toContain('\n  "batch": 7'); // pretty, not one line
    // Each attempt, oldest first: the first retried with its error, the last completed.
    const attempts = page.locator('[data-test=timeline-attempt]');
    expect(await attempts.count()).toBeGreaterThanOrEqual(2);
    expect(await attempts.first().textContent()).toContain('retried');
    expect(await attempts.last().textContent()).toContain('completed');
    expect(await page.locator('[data-test=attempt-error]').first().textContent()).toContain('upstream answered 503 for batch 7');
    // The dead job: its error, in full, and the actions a dead job has.
    await page.goto(`${server.url}/api/dashboard#/jobs/${ids.dead}`);
    await page.locator('[data-test=job-error]', { hasText: 'card declined: insufficient funds' }).waitFor();
    expect(await page.locator('[data-test=job-actions] button').allTextContents()).toEqual(['Retry', 'Cancel', 'Replay']);
    await context.close();
  });

  it('replays from a step on the job page: a new job, linked both ways, that runs again from that step', async () => {
    const { context, page } = await loggedIn();
    await page.goto(`${server.url}/api/dashboard#/jobs/${ids.retried}`);
    await page.locator('[data-test=job-replay-step]').selectOption('store');
    const answered = page.waitForResponse((r) => r.url().endsWith(`/jobs/${ids.retried}/replay`));
    await page.locator('[data-test=job-replay-from]').click();
    expect((await answered).status()).toBe(201);
    await page.locator('[data-test=job-replay-of] a', { hasText: ids.retried }).waitFor();
    const copy = new URL(page.url()).hash.slice('#/jobs/'.length);
    expect(copy).not.toBe(ids.retried);
    expect(await page.locator('[data-test=panel-status]').textContent()).toMatch(/^Replayed from step store: new job/);
    const [row] = await select<{ type: string; status: string }>(conn.db, sql`select type, status from sluice.jobs where id = ${copy}::uuid`);
    expect(row).toEqual({ type: 'import-orders', status: 'pending' });
    await drainAll();
    // Live: the page follows the new job to its end without a reload.
    await page.locator('[data-test=job-status]', { hasText: 'completed' }).waitFor({ timeout: 15_000 });
    await page.locator('[data-test=job-replay-of] a').click();
    await page.locator(`[data-test=job-replays] a[href="#/jobs/${copy}"]`).waitFor();
    await context.close();
  });

  it('replays every dead run of the filter, after a confirm', async () => {
    const { context, page } = await loggedIn();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.accept(); });
    await page.goto(`${server.url}/api/dashboard#/runs?status=dead&type=charge-card`);
    await page.locator('[data-test=run-row]').first().waitFor();
    await page.locator('[data-test=runs-replay]').click();
    await page.locator('[data-test=panel-status]', { hasText: /^Replayed 1 dead run$/ }).waitFor();
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toContain('Replay every dead run of type charge-card?');
    const [n] = await select<{ n: number }>(conn.db, sql`select count(*)::int as n from sluice.jobs where type = 'charge-card' and status = 'pending'`);
    expect(n!.n).toBe(1);
    await context.close();
  });

  it('overview: plurals, the cards read again right after an action, and nothing scrolls sideways at 390 px', async () => {
    const { context, page } = await loggedIn({ width: 390, height: 844 });
    const dead = await enqueue(chargeCard, { amount: 5 });
    await drainAll();
    const deadCount = Number(await page.evaluate(async () => (await (await fetch('/api/dashboard/data')).json()).stats.dead));
    await page.reload();
    await page.locator(`[data-test=dead-row][data-id="${dead}"]`).waitFor();
    // The banner says "N dead job(s)" as English.
    const banner = (await page.locator('#problems').textContent())!;
    expect(banner).toContain(deadCount === 1 ? '1 dead job (' : `${deadCount} dead jobs (`);
    expect(await page.locator('main').textContent()).not.toMatch(/\b1 dead jobs\b/);

    // No sideways scrolling: not the page, not a table's box; the Pause buttons are on screen.
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      boxes: Array.from(document.querySelectorAll('.table-wrap')).map((b) => b.scrollWidth - b.clientWidth),
    }));
    expect(overflow.page).toBeLessThanOrEqual(0);
    expect(Math.max(...overflow.boxes)).toBeLessThanOrEqual(0);
    const pause = page.locator('#types-table [data-test=pause]').first();
    const box = (await pause.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await page.locator('#times-table td[data-label="Run p99"]').first().waitFor();
    expect((await page.locator('#times-table td[data-label="Run p99"]').first().boundingBox())!.x).toBeLessThan(390);

    // Retry: the answer, then at once a read of the data (not the 5 s timer), and the card shows it.
    const row = page.locator(`[data-test=dead-row][data-id="${dead}"]`);
    const cards = page.waitForResponse((r) => r.url().includes('/api/dashboard/data'));
    const posted = page.waitForResponse((r) => r.url().endsWith(`/jobs/${dead}/retry`));
    await row.locator('[data-test=retry]').click();
    const retryAt = Date.now();
    await posted;
    await cards;
    await page.waitForFunction((n) => document.querySelector('[data-test=summary-dead]')?.textContent === String(n), deadCount - 1);
    expect(Date.now() - retryAt).toBeLessThan(4_000);
    // Said in the dead jobs' panel, not over the table.
    expect(await page.locator('[data-test=panel-status]').textContent()).toBe('Retried 1 job');
    await context.close();
  });

  it('runs browser and job page at 390 px: no sideways scrolling', async () => {
    const { context, page } = await loggedIn({ width: 390, height: 844 });
    for (const hash of ['#/runs?status=completed', `#/jobs/${ids.retried}`]) {
      await page.goto(`${server.url}/api/dashboard${hash}`);
      await page.locator(hash.startsWith('#/runs') ? '[data-test=run-row]' : '[data-test=job-timeline]').first().waitFor();
      const overflow = await page.evaluate(() => Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,
        ...Array.from(document.querySelectorAll('.table-wrap')).map((b) => b.scrollWidth - b.clientWidth)));
      expect(overflow, hash).toBeLessThanOrEqual(0);
    }
    await context.close();
  });

  // Pictures of both pages at both widths, checked to be whole pages; SCREENSHOTS=1 npm run test:browser -- runs
  // writes them over the ones in docs/images (docs/operations.md shows them), else they go to a temporary folder.
  it('screenshots of the runs browser and a job page, desktop and phone', async () => {
    const dir = process.env.SCREENSHOTS === '1' ? new URL('../../docs/images/', import.meta.url) : pathToFileURL(`${mkdtempSync(join(tmpdir(), 'sluice-shots-'))}/`);
    mkdirSync(dir, { recursive: true });
    for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
      const { context, page } = await loggedIn(viewport);
      await page.goto(`${server.url}/api/dashboard#/runs`);
      await page.locator('[data-test=run-row]').first().waitFor();
      await page.screenshot({ path: new URL(`dashboard-runs-${name}.png`, dir).pathname, fullPage: false });
      await page.goto(`${server.url}/api/dashboard#/jobs/${ids.retried}`);
      await page.locator('[data-test=job-timeline]').waitFor();
      await page.screenshot({ path: new URL(`dashboard-job-${name}.png`, dir).pathname, fullPage: true });
      await context.close();
    }
    // Each is a PNG of the viewport's width, with something drawn (a blank page compresses to a few KB).
    for (const file of ['runs-desktop', 'runs-phone', 'job-desktop', 'job-phone']) {
      const png = readFileSync(new URL(`dashboard-${file}.png`, dir));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16), file).toBe(file.endsWith('desktop') ? 1280 : 390);
      expect(png.length, file).toBeGreaterThan(20_000);
    }
  });
});
