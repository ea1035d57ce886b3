import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_ASSETS } from '../lib/dashboard/assets.generated.js';
import { dashboardPage, escapeHtml, loginPage } from '../lib/dashboard/html.js';
import { ASSETS_MODULE, renderAssetsModule } from '../scripts/dashboard-assets.js';

// The dashboard's page and assets: no server, no database.
describe('dashboard assets', () => {
  it('the committed module matches the client files and uPlot (else: npm run dashboard:assets)', () => {
    expect(readFileSync(ASSETS_MODULE, 'utf8')).toBe(renderAssetsModule());
  });

  it('holds the six files the page links, each with a content type and a quoted etag', () => {
    expect(Object.keys(DASHBOARD_ASSETS).sort()).toEqual(['app.css', 'app.js', 'job.js', 'runs.js', 'uplot.css', 'uplot.js']);
    for (const asset of Object.values(DASHBOARD_ASSETS)) {
      expect(asset.body.length).toBeGreaterThan(0);
      expect(asset.etag).toMatch(/^"[0-9a-f]{16}"$/);
    }
    expect(DASHBOARD_ASSETS['uplot.js']!.contentType).toMatch(/^text\/javascript/);
    expect(DASHBOARD_ASSETS['app.css']!.contentType).toMatch(/^text\/css/);
  });
});

describe('dashboard html', () => {
  const pages = { login: loginPage({ error: 'wrong password' }), dashboard: dashboardPage({ csrf: 'token' }) };

  it('escapes what it interpolates', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const login = loginPage({ error: '<script>alert(1)</script>' });
    expect(login).toContain('&lt;script&gt;');
    expect(login).not.toContain('<script>alert');
    const page = dashboardPage({ csrf: '"><script>x</script>' });
    expect(page).toContain('<meta name="sluice-csrf" content="&quot;&gt;&lt;script&gt;x&lt;/script&gt;">');
    expect(page).toContain('<input type="hidden" name="csrf" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;">');
  });

  // The server's Content-Security-Policy allows scripts and styles from 'self' only.
  it.each(Object.entries(pages))('%s page: no inline script, style or event handler', (_, html) => {
    for (const [, attrs, body] of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(attrs).toMatch(/\bsrc="\/api\/dashboard\/assets\/[\w.]+"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('the login form posts the password to the login route', () => {
    expect(pages.login).toContain('<form method="post" action="/api/dashboard/login">');
    expect(pages.login).toMatch(/<input[^>]*name="password"[^>]*autofocus[^>]*autocomplete="current-password"/);
    expect(loginPage({})).not.toContain('login-error');
  });

  it('the dashboard links its assets and carries the token', () => {
    for (const name of ['uplot.css', 'app.css']) expect(pages.dashboard).toContain(`<link rel="stylesheet" href="/api/dashboard/assets/${name}">`);
    for (const name of ['uplot.js', 'app.js', 'runs.js', 'job.js']) expect(pages.dashboard).toContain(`<script src="/api/dashboard/assets/${name}" defer></script>`);
    expect(pages.dashboard).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(pages.dashboard).toContain('<title>Sluice</title>');
  });
});
