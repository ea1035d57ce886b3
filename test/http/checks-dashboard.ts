// The dashboard on every runtime (issue 12): the page, its login, its data and an action, mounted where
// the API is. Registered by httpSuite (suite.ts). Its browser view: test/browser/dashboard.test.ts.
import { describe, expect, it } from 'vitest';
import { SECRETS, type SuiteContext } from './context.js';

export function dashboardChecks(t: SuiteContext): void {
  const login = async (password: string) => t.call('POST', '/api/dashboard/login', {
    body: new URLSearchParams({ password }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
  });

  describe('the dashboard', () => {
    it('serves its login form and assets; refuses a wrong password', async () => {
      const page = await t.call('GET', '/api/dashboard');
      expect(page.status, page.text).toBe(200);
      expect(page.text).toContain('action="/api/dashboard/login"');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      const js = await t.call('GET', '/api/dashboard/assets/uplot.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      const wrong = await login('wrong');
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();
    });

    it('logs in with ADMIN_SECRET, shows the data, and retries a dead job with the CSRF token', async () => {
      const id = await t.deadJob();
      const res = await login(SECRETS.ADMIN_SECRET);
      expect(res.status, res.text).toBe(303);
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect(cookie).toMatch(/^sluice_session=v2\./);
      const page = await t.call('GET', '/api/dashboard', { headers: { cookie } });
      const csrf = /<meta name="sluice-csrf" content="([^"]+)"/.exec(page.text)?.[1];
      expect(csrf, page.text).toBeDefined();
      const data = await t.call('GET', '/api/dashboard/data', { headers: { cookie } });
      expect(data.status, data.text).toBe(200);
      expect(data.json.dead).toMatchObject({ total: 1, jobs: [{ id }] });
      expect((await t.call('POST', `/api/dashboard/jobs/${id}/retry`, { headers: { cookie } })).status).toBe(403);
      const retried = await t.call('POST', `/api/dashboard/jobs/${id}/retry`, { headers: { cookie, 'x-sluice-csrf': csrf! } });
      expect(retried.status, retried.text).toBe(200);
      expect(retried.json).toMatchObject({ id, status: 'pending' });
    });
  });
}
