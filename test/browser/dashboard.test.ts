import { sql } from 'drizzle-orm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../scripts/chromium.js';
import { sluice } from '../../lib/app/sluice.js';
import { SECRETS, startApi } from '../support/api.js';
import { jobRow, select } from '../support/sql.js';

// The dashboard in a real Chromium (issue 12): logging in, the depth chart, a one-click retry, and the
// session's defences as a browser enforces them. The same routes over plain HTTP: test/dashboard-http.test.ts.
// Nothing drains here (startApi: kicks off, and no cron), so a retried job stays pending.
let api: Awaited<ReturnType<typeof startApi>>;
let browser: Browser;

beforeAll(async () => {
  api = await startApi({ SLUICE_KICK: 'off' });
  await seedHistory();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const at = (path: string) => new URL(path, api.url).href;
const COOKIE = 'sluice_session';

/** Half an hour of depth samples (the whole queue, type '', and one type) and of per-minute outcomes. */
async function seedHistory() {
  await api.db.execute(sql`
    insert into sluice.queue_samples (app, minute, type, pending, due, running, dead, oldest_due_ms)
    select ${sluice.scope().app}, date_trunc('minute', now()) - g * interval '1 minute', t.type,
           40 + (g % 10) * 6, 30 + (g % 10) * 4, 2 + g % 3, 1, 1000 + g * 150
    from generate_series(0, 29) g, (values (''), ('send-welcome-email')) t(type)`);
  await api.db.execute(sql`
    insert into sluice.job_history (minute, type, completed, retried, dead, rescued, run_hist, lag_hist)
    select date_trunc('minute', now()) - g * interval '1 minute', 'send-welcome-email', 20 + g % 5, g % 3, 0, 0,
           array[0,0,0,0,0,2,6,9,3,1,0,0,0,0,0,0,0,0], array[0,0,0,0,0,0,0,1,4,8,5,2,0,0,0,0,0,0]
    from generate_series(0, 29) g`);
}

async function insertDeadJob(): Promise<string> {
  const [row] = await select<{ id: string }>(api.db, sql`
    insert into sluice.jobs (type, payload, status, attempts, max_attempts, last_error, dead_at)
    values ('send-welcome-email', ${JSON.stringify({ userId: 'u-browser', email: 'ada@example.com', name: 'Ada' })}::jsonb,
            'dead', 5, 5, 'attempt 5/5: boom', now())
    returning id`);
  return row!.id;
}

/** A fresh browser profile: no cookies. (browser.close() ends them all.) */
const newContext = () => browser.newContext();

/** Fills the login form as a person would; resolves with the status of the form's POST. */
async function submitLogin(page: Page, password: string): Promise<number> {
  await page.goto(at('/api/dashboard'));
  await page.locator('#password').fill(password);
  const answered = page.waitForResponse((r) => r.url() === at('/api/dashboard/login') && r.request().method() === 'POST');
  await page.locator('button[type=submit]').click();
  return (await answered).status();
}

/** A logged-in page, its data drawn once. */
async function loggedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext();
  const page = await context.newPage();
  expect(await submitLogin(page, SECRETS.ADMIN_SECRET)).toBe(303);
  await page.locator('[data-test=updated]', { hasText: /^updated / }).waitFor();
  return { context, page };
}

/** The depth chart's canvas pixels near the "pending" series' colour (#2563eb): its line, drawn. */
const pendingLinePixels = (page: Page) => page.evaluate(() => {
  const canvas = document.querySelector<HTMLCanvasElement>('[data-test=depth-chart] canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
  const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3]! > 128 && Math.abs(data[i]! - 37) < 40 && Math.abs(data[i + 1]! - 99) < 40 && Math.abs(data[i + 2]! - 235) < 40) n++;
  }
  return n;
});

describe('dashboard in Chromium', () => {
  it('refuses a wrong password: the form says so, and no session cookie is set', async () => {
    const context = await newContext();
    const page = await context.newPage();
    expect(await submitLogin(page, 'not-the-secret')).toBe(401);
    await page.locator('.login-error', { hasText: 'Wrong password' }).waitFor();
    expect(await page.locator('#password').count()).toBe(1);
    expect((await context.cookies()).map((c) => c.name)).not.toContain(COOKIE);
  });

  it('logs in with ADMIN_SECRET: an HttpOnly, Secure, SameSite=Strict cookie, the secret nowhere in the page, the depth chart drawn', async () => {
    const context = await newContext();
    const page = await context.newPage();
    expect(await submitLogin(page, SECRETS.ADMIN_SECRET)).toBe(303);
    const canvas = page.locator('[data-test=depth-chart] canvas');
    await canvas.waitFor(); // the dashboard, loaded and drawn from its data
    expect(new URL(page.url()).pathname).toBe('/api/dashboard');
    const cookie = (await context.cookies()).find((c) => c.name === COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/api/dashboard', domain: '127.0.0.1' });
    // 12 hours from now, give or take the test's own time.
    expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(11.9 * 3_600_000);
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(12 * 3_600_000);
    expect(cookie!.value).not.toContain(SECRETS.ADMIN_SECRET);
    // HttpOnly: the page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain(COOKIE);

    const box = await canvas.boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    expect(box!.height).toBeGreaterThan(100);
    // The seeded half hour is drawn as a line, not just the axes and grid.
    await expect.poll(() => pendingLinePixels(page), { timeout: 10_000 }).toBeGreaterThan(100);
    await page.locator('[data-test=summary-pending]').waitFor();
    expect(await page.content()).not.toContain(SECRETS.ADMIN_SECRET);
    expect(page.url()).not.toContain(SECRETS.ADMIN_SECRET);
  });

  it('shows a dead job and retries it with one click: the row goes, the job is pending', async () => {
    const id = await insertDeadJob();
    const { page } = await loggedIn();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    const row = page.locator(`[data-test=dead-row][data-id="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('attempt 5/5: boom');
    await row.locator('[data-test=retry]').click();
    await row.waitFor({ state: 'detached' });
    await expect.poll(async () => (await jobRow(api.db, id))?.status, { timeout: 10_000 }).toBe('pending');
    await expect.poll(() => page.locator('[data-test=status]').textContent(), { timeout: 10_000 }).toContain('Retried 1 job');
    expect(dialogs).toEqual([]);
    expect(await jobRow(api.db, id)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('opens a running job at #job=<id>: its progress as it changes, and a Cancel that asks it to stop', async () => {
    const [row] = await select<{ id: string }>(api.db, sql`
      insert into sluice.jobs (type, payload, status, attempts, lock_token, locked_until, started_at, progress)
      values ('send-welcome-email', '{}', 'running', 1, gen_random_uuid(), now() + interval '1 hour', now(), '{"pct":40}')
      returning id`);
    const id = row!.id;
    const { page } = await loggedIn();
    await page.evaluate((jobId) => { location.hash = `range=1h&job=${jobId}`; }, id);
    const progress = page.locator('[data-test=detail-progress]');
    await expect.poll(() => progress.textContent(), { timeout: 10_000 }).toContain('"pct": 40');
    // The open detail reads the job again while it runs.
    await api.db.execute(sql`update sluice.jobs set progress = '{"pct":80}' where id = ${id}::uuid`);
    await expect.poll(() => progress.textContent(), { timeout: 10_000 }).toContain('"pct": 80');
    await page.locator('[data-test=detail-cancel]').click();
    await expect.poll(() => page.locator('[data-test=status]').textContent(), { timeout: 10_000 }).toContain('Asked the running job to stop');
    const [after] = await select<{ status: string; asked: boolean }>(api.db, sql`select status, cancel_requested_at is not null as asked from sluice.jobs where id = ${id}::uuid`);
    expect(after).toEqual({ status: 'running', asked: true });
    expect(page.url()).not.toContain('job=');
  });

  it('opens a waiting parent: what it waits for, its child jobs, each a link; its Cancel takes the children too', async () => {
    const [parent] = await select<{ id: string }>(api.db, sql`
      insert into sluice.jobs (type, payload, status, run_after, wait_for)
      values ('send-welcome-email', '{}', 'waiting', now() + interval '1 day', array['order.approved' || chr(1) || 'o-42'])
      returning id`);
    const [child] = await select<{ id: string }>(api.db, sql`
      insert into sluice.jobs (type, payload, status, awaited, parent_id, parent_step)
      values ('send-welcome-email', '{}', 'pending', true, ${parent!.id}::uuid, 'charge')
      returning id`);
    const { page } = await loggedIn();
    await page.evaluate((jobId) => { location.hash = `range=1h&job=${jobId}`; }, parent!.id);
    await expect.poll(() => page.locator('[data-test=detail-waiting] strong').textContent(), { timeout: 10_000 }).toBe('Waiting for order.approved (o-42)');
    const childLink = page.locator('[data-test=detail-child] a');
    expect(await childLink.textContent()).toBe('send-welcome-email: pending');
    await childLink.click();
    await expect.poll(() => page.locator('[data-test=detail-parent] a').textContent(), { timeout: 10_000 }).toBe(parent!.id);
    await page.locator('[data-test=detail-parent] a').click();
    await page.locator('[data-test=detail-waiting]').waitFor();
    await page.locator('[data-test=detail-cancel]').click();
    await expect.poll(async () => (await jobRow(api.db, child!.id))?.status, { timeout: 10_000 }).toBe('cancelled');
    expect((await jobRow(api.db, parent!.id))?.status).toBe('cancelled');
  });

  it('refuses a forged session cookie: the login form, and 401 for the data', async () => {
    const context = await newContext();
    const forged = `v2.${'A'.repeat(24)}.${'B'.repeat(43)}`;
    await context.addCookies([{ name: COOKIE, value: forged, domain: '127.0.0.1', path: '/api/dashboard', secure: true, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const sent: string[] = [];
    page.on('request', (r) => { void r.headerValue('cookie').then((v) => v && sent.push(v)); });
    await page.goto(at('/api/dashboard'));
    await page.locator('#password').waitFor();
    expect(await page.locator('[data-test=depth-chart]').count()).toBe(0);
    const status = await page.evaluate(async () => (await fetch('/api/dashboard/data', { credentials: 'same-origin' })).status);
    expect(status).toBe(401);
    // The browser did send it: it was refused, not left behind.
    await expect.poll(() => sent.some((c) => c.includes(forged))).toBe(true);
  });

  describe('a cross-site POST from a logged-in browser', () => {
    let attacker: Server;
    let attackerOrigin: string;
    beforeAll(async () => {
      // Another site: `localhost` is not `127.0.0.1` to a browser (different hosts, so different sites).
      attacker = createServer((req, res) => {
        const page = new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '';
        res.writeHead(200, { 'content-type': 'text/html' }).end(ATTACKER_PAGES[page] ?? '<p>nothing here</p>');
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerOrigin = `http://localhost:${(attacker.address() as AddressInfo).port}`;
    });
    afterAll(async () => { await new Promise<void>((resolve) => attacker?.close(() => resolve())); });

    const ATTACKER_PAGES: Record<string, string> = {};
    const target = (path: string) => at(path);

    async function attack(html: string, path: string): Promise<Response> {
      const name = `p${Object.keys(ATTACKER_PAGES).length}`;
      ATTACKER_PAGES[name] = html;
      const { context } = await loggedIn();
      expect((await context.cookies()).map((c) => c.name)).toContain(COOKIE); // the victim is logged in
      const page = await context.newPage();
      const answered = page.waitForResponse((r) => r.url() === target(path) && r.request().method() === 'POST');
      await page.goto(`${attackerOrigin}/?page=${name}`);
      return answered;
    }

    it('an auto-submitted form is refused and retries nothing', async () => {
      const id = await insertDeadJob();
      const path = '/api/dashboard/dead/retry';
      const res = await attack(`<form method="post" action="${target(path)}"><input name="type" value="send-welcome-email"></form>
        <script>document.forms[0].submit()</script>`, path);
      expect([401, 403]).toContain(res.status());
      expect((await jobRow(api.db, id))?.status).toBe('dead');
    });

    it('a no-cors fetch with credentials is refused and retries nothing', async () => {
      const id = await insertDeadJob();
      const path = `/api/dashboard/jobs/${id}/retry`;
      const res = await attack(`<script>fetch(${JSON.stringify(target(path))}, { method: 'POST', credentials: 'include', mode: 'no-cors' })</script>`, path);
      expect([401, 403]).toContain(res.status());
      expect((await jobRow(api.db, id))?.status).toBe('dead');
    });
  });
});
