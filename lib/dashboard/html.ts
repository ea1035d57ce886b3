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

const STATUS_OPTIONS = ['pending', 'running', 'waiting', 'completed', 'dead', 'cancelled']
  .map((s) => `<option value="${s}">${s}</option>`)
  .join('');

/**
 * The runs browser (runs.js fills it): a filter form whose fields are named as the query of
 * GET /api/dashboard/jobs, a table of one page, and Newer / Older for the cursor.
 */
function runsView(): string {
  return `<div id="view-runs" hidden>
<section class="panel" aria-label="Runs">
<div class="panel-head"><h2>Runs <span id="runs-count" class="muted"></span></h2>
<div class="actions"><button type="button" id="runs-replay" data-test="runs-replay" hidden>Replay all matching</button></div></div>
<form id="runs-filter" class="filters" data-test="runs-filter">
<label>Status <select name="status"><option value="">all</option>${STATUS_OPTIONS}</select></label>
<label>Type <input name="type" list="runs-types" autocomplete="off" placeholder="any"></label>
<datalist id="runs-types"></datalist>
<label>From <input name="from" type="datetime-local" step="1"></label>
<label>To <input name="to" type="datetime-local" step="1"></label>
<label>Job id <input name="id" autocomplete="off" spellcheck="false" placeholder="uuid"></label>
<label>Idempotency key <input name="idempotencyKey" autocomplete="off" spellcheck="false"></label>
<div class="filter-buttons"><button type="submit" class="primary">Apply</button><button type="reset" class="quiet">Clear</button></div>
</form>
<p id="runs-error" class="error-line" role="alert" hidden></p>
<div class="table-wrap"><table id="runs-table" class="stack"><thead><tr><th>Job</th><th>Type</th><th>Status</th><th class="num">Attempts</th><th id="runs-when">Enqueued</th><th class="num">Took</th><th>Last error</th></tr></thead><tbody></tbody></table></div>
<div class="pager"><button type="button" id="runs-newer" data-test="runs-newer">Newer</button><span id="runs-page" class="muted"></span><button type="button" id="runs-older" data-test="runs-older">Older</button></div>
</section>
</div>`;
}

/**
 * The dashboard's skeleton, three views the hash picks (app.js routes): the overview, which app.js
 * fills from GET /api/dashboard/data (the ids are its hooks); the runs browser (#/runs, runs.js); a
 * job's page (#/jobs/<id>, job.js). Logging out is a plain form, so it works even when the script failed to load.
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
<script src="${ASSETS}/app.js" defer></script>
<script src="${ASSETS}/runs.js" defer></script>
<script src="${ASSETS}/job.js" defer></script>`,
    `<body>
<header class="topbar">
<h1>Sluice</h1>
<nav class="tabs" aria-label="Views"><a href="#/" data-nav="overview">Overview</a><a href="#/runs" data-nav="runs">Runs</a></nav>
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
<p id="status" class="visually-hidden" data-test="status" role="status" aria-live="polite"></p>
<div id="view-overview">
<section id="summary" class="cards" aria-label="Summary"></section>
<section class="charts">
<div class="panel"><h2>Queue depth</h2><div id="depth-chart" class="chart" data-test="depth-chart"></div></div>
<div class="panel"><h2>Oldest due job's wait</h2><div id="age-chart" class="chart"></div></div>
<div class="panel wide"><div class="panel-head"><h2>Outcomes <span id="throughput-step">per minute</span></h2><select id="throughput-type" aria-label="Job type"></select></div><div id="throughput-chart" class="chart"></div></div>
</section>
<section class="panel">
<div class="panel-head"><h2>Dead jobs <span id="dead-count" class="muted"></span></h2>
<div class="actions"><a id="dead-runs" href="#/runs?status=dead" class="quiet-link">All in runs</a><select id="dead-type" aria-label="Dead jobs of type"></select>
<button type="button" id="bulk-retry" data-test="bulk-retry">Retry all</button>
<button type="button" id="bulk-cancel" class="danger" data-test="bulk-cancel">Cancel all</button></div></div>
<div class="table-wrap"><table id="dead-table"><thead><tr><th>Job</th><th>Type</th><th class="num">Attempts</th><th>Last error</th><th>Died</th><th></th></tr></thead><tbody></tbody></table></div>
</section>
<section class="panel"><h2>Run time and lag by type</h2>
<div class="table-wrap"><table id="times-table" class="stack"><thead><tr><th>Type</th><th class="num">Runs</th><th class="num">Run p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">Lag p50</th><th class="num">p90</th><th class="num">p99</th></tr></thead><tbody></tbody></table></div>
</section>
<section class="panel"><h2>Types</h2>
<div class="table-wrap"><table id="types-table" class="stack"><thead><tr><th>Type</th><th>State</th><th class="num">Pending</th><th class="num">Running</th><th>Concurrency</th><th>Rate limit</th><th></th></tr></thead><tbody></tbody></table></div>
</section>
<section id="schedules" class="panel" hidden><h2>Schedules</h2>
<div class="table-wrap"><table id="schedules-table" class="stack"><thead><tr><th>Name</th><th>Cron</th><th>Time zone</th><th>Job type</th><th>Next slot</th><th>Last slot</th></tr></thead><tbody></tbody></table></div>
</section>
</div>
${runsView()}
<div id="view-job" data-test="job-page" hidden></div>
</main>
</body>`,
  );
}
