// The dashboard's two HTML documents. The server sends a strict Content-Security-Policy (scripts and
// styles only from its own origin), so these hold no inline script, no <style> and no style="" attribute: the
// page's behaviour is assets/app.js and its look assets/app.css. Every interpolated value is escaped.
import { DASHBOARD_BASE, DASHBOARD_RANGES } from './contract.js';

const ASSETS = `${DASHBOARD_BASE}/assets`;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * The referrer policy is same-origin, not no-referrer: under no-referrer a browser sends `Origin: null`
 * with the page's own POSTs (the login form, the actions' fetches), which the server's cross-site check
 * refuses. same-origin still sends nothing to other sites. This <meta> overrides the header's policy.
 */
function documentShell(head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>Sluice</title>
${head}
</head>
${body}
</html>
`;
}

/** The password form; `error` says why the last attempt failed. */
export function loginPage({ error }: { error?: string } = {}): string {
  const message = error ? `<p class="login-error" role="alert">${escapeHtml(error)}</p>` : '';
  return documentShell(
    `<link rel="stylesheet" href="${ASSETS}/app.css">`,
    `<body class="login">
<main class="login-box">
<h1>Sluice</h1>
<form method="post" action="${DASHBOARD_BASE}/login">
<label for="password">Password</label>
<input id="password" name="password" type="password" required autofocus autocomplete="current-password">
${message}
<button type="submit">Sign in</button>
</form>
</main>
</body>`,
  );
}

/**
 * The dashboard's skeleton: app.js fills the sections from GET /api/dashboard/data (their ids are its
 * hooks). Logging out is a plain form, so it works even when the script failed to load.
 */
export function dashboardPage({ csrf }: { csrf: string }): string {
  const token = escapeHtml(csrf);
  const ranges = Object.keys(DASHBOARD_RANGES)
    .map((r) => `<option value="${escapeHtml(r)}">${escapeHtml(r)}</option>`)
    .join('');
  return documentShell(
    `<meta name="sluice-csrf" content="${token}">
<link rel="stylesheet" href="${ASSETS}/uplot.css">
<link rel="stylesheet" href="${ASSETS}/app.css">
<script src="${ASSETS}/uplot.js" defer></script>
<script src="${ASSETS}/app.js" defer></script>`,
    `<body>
<header class="topbar">
<h1>Sluice</h1>
<label class="range"><span class="range-label">Range</span> <select id="range" aria-label="Range">${ranges}</select></label>
<span id="updated" class="muted" data-test="updated">loading…</span>
<form method="post" action="${DASHBOARD_BASE}/logout" class="logout">
<input type="hidden" name="csrf" value="${token}">
<button type="submit" class="quiet">Log out</button>
</form>
</header>
<main>
<div id="problems" class="banner" role="alert" hidden></div>
<p id="error" class="error-line" role="alert" hidden></p>
<p id="status" class="status-line" data-test="status" role="status" aria-live="polite"></p>
<section id="summary" class="cards" aria-label="Summary"></section>
<section class="charts">
<div class="panel"><h2>Queue depth</h2><div id="depth-chart" class="chart" data-test="depth-chart"></div></div>
<div class="panel"><h2>Oldest due job's wait</h2><div id="age-chart" class="chart"></div></div>
<div class="panel wide"><div class="panel-head"><h2>Outcomes <span id="throughput-step">per minute</span></h2><select id="throughput-type" aria-label="Job type"></select></div><div id="throughput-chart" class="chart"></div></div>
</section>
<section class="panel">
<div class="panel-head"><h2>Dead jobs <span id="dead-count" class="muted"></span></h2>
<div class="actions"><select id="dead-type" aria-label="Dead jobs of type"></select>
<button type="button" id="bulk-retry" data-test="bulk-retry">Retry all</button>
<button type="button" id="bulk-cancel" class="danger" data-test="bulk-cancel">Cancel all</button></div></div>
<div class="table-wrap"><table id="dead-table"><thead><tr><th>Job</th><th>Type</th><th class="num">Attempts</th><th>Last error</th><th>Died</th><th></th></tr></thead><tbody></tbody></table></div>
</section>
<section class="panel"><h2>Run time and lag by type</h2>
<div class="table-wrap"><table id="times-table"><thead><tr><th>Type</th><th class="num">Runs</th><th class="num">Run p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">Lag p50</th><th class="num">p90</th><th class="num">p99</th></tr></thead><tbody></tbody></table></div>
</section>
<section class="panel"><h2>Types</h2>
<div class="table-wrap"><table id="types-table"><thead><tr><th>Type</th><th>State</th><th class="num">Pending</th><th class="num">Running</th><th>Concurrency</th><th>Rate limit</th><th></th></tr></thead><tbody></tbody></table></div>
</section>
<section id="schedules" class="panel" hidden><h2>Schedules</h2>
<div class="table-wrap"><table id="schedules-table"><thead><tr><th>Name</th><th>Cron</th><th>Time zone</th><th>Job type</th><th>Next slot</th><th>Last slot</th></tr></thead><tbody></tbody></table></div>
</section>
</main>
<dialog id="job-detail" class="detail" data-test="job-detail" aria-labelledby="detail-title">
<div class="panel-head"><h2 id="detail-title">Job</h2><button type="button" id="detail-close" class="quiet" aria-label="Close">Close</button></div>
<div id="detail-body"></div>
</dialog>
</body>`,
  );
}
