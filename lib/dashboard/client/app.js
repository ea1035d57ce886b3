// The dashboard page's behaviour: plain scripts (no build step, no framework) served as
// /api/dashboard/assets/*.js under a CSP that forbids inline script and style. This one holds the
// shared helpers (window.Sluice), the hash router and the overview, which reads GET <page>/data every
// 5 s; runs.js (#/runs) and job.js (#/jobs/<id>) are the other two views. The buttons POST the
// actions of lib/dashboard/contract.ts. Job payloads and errors are untrusted: every piece of data
// reaches the DOM as textContent or a property (title, value), never as HTML.
/* global uPlot */
(function () {
  'use strict';

  // The page is served at /api/dashboard: its routes are below that path, whatever the host mounts.
  const BASE = location.pathname.replace(/\/+$/, '');
  const CSRF = document.querySelector('meta[name="sluice-csrf"]')?.getAttribute('content') ?? '';
  const RANGES = ['1h', '6h', '24h', '7d'];
  const REFRESH_MS = 5000;
  const $ = (id) => document.getElementById(id);

  const state = {
    range: '1h',
    deadType: '',
    view: '', // overview, runs or job: what the hash shows
    throughputType: '',
    data: null,
    timer: 0,
    seq: 0,
    controller: null,
    charts: {},
    xRange: [0, 1],
    // JSON of what each table was last drawn from: a refresh that changed nothing leaves the rows alone,
    // so a text selection (copying an error) or a button under the pointer survives the 5 s refresh.
    drawn: {},
  };

  // ---- small helpers -------------------------------------------------------------------------

  /** An element with text and attributes; children appended. Text only, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'class') node.className = value;
      else if (key === 'onclick') node.addEventListener('click', value);
      else if (key === 'title') node.title = String(value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  /** "1 dead job", "2 dead jobs": every count on the page reads as English. */
  const plural = (n, word, many) => `${n.toLocaleString()} ${n === 1 ? word : many || `${word}s`}`;
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

  /** 850 ms, 4.2 s, 3m 12s, 2h 05m, 3d 4h: a wait or a run time at a glance. */
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h}h ${pad(m % 60)}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  /** A timestamp in the viewer's zone: the time alone today, with the date otherwise. */
  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today ? clock(d) : `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${clock(d).slice(0, 5)}`;
  }

  const shortError = (text, max) => {
    const flat = String(text || '').replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  };
  // UUIDv7: the first characters are the creation time, shared by every job of the same minute;
  // the random tail tells jobs apart.
  const shortId = (id) => `…${id.slice(-8)}`;

  // ---- talking to the server -----------------------------------------------------------------

  /** The session ended (401): reload so the login form shows, unless that just happened (no loop). */
  function sessionEnded() {
    const last = Number(sessionStorage.getItem('sluice-reloaded-at') || 0);
    if (Date.now() - last > 15000) {
      sessionStorage.setItem('sluice-reloaded-at', String(Date.now()));
      location.reload();
    }
    return new Error('signed out: reload the page to sign in again');
  }

  async function request(method, path, body, signal) {
    const headers = { accept: 'application/json' };
    if (method === 'POST') {
      headers['x-sluice-csrf'] = CSRF;
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(BASE + path, {
      method, headers, signal, credentials: 'same-origin',
      body: method === 'POST' ? JSON.stringify(body || {}) : undefined,
    });
    if (res.status === 401) throw sessionEnded();
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: said below */ }
    if (!res.ok) throw new Error((json && json.error) || `${res.status} ${res.statusText}`.trim());
    if (json === null) throw new Error('the server answered something other than JSON');
    return json;
  }

  /** The overview's hash: `#range=6h&dead=<type>` (no leading slash: the other views' hashes have one). */
  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#\/?/, ''));
    state.range = RANGES.includes(params.get('range')) ? params.get('range') : '1h';
    state.deadType = params.get('dead') || '';
  }
  function writeHash() {
    const params = new URLSearchParams({ range: state.range });
    if (state.deadType) params.set('dead', state.deadType);
    history.replaceState(null, '', `#${params}`);
  }

  async function refresh() {
    clearTimeout(state.timer);
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    const query = new URLSearchParams({ range: state.range });
    if (state.deadType) query.set('deadType', state.deadType);
    try {
      const data = await request('GET', `/data?${query}`, null, state.controller.signal);
      if (seq !== state.seq) return;
      state.data = data;
      render(data);
      showError('');
      $('updated').textContent = `updated ${clock(new Date())}`;
    } catch (err) {
      if (seq !== state.seq || err.name === 'AbortError') return;
      showError(`Could not refresh: ${err.message}. Trying again every ${REFRESH_MS / 1000} s.`);
    } finally {
      // A hidden tab (or another view) asks nothing: refreshing resumes, at once, when the overview is shown again.
      if (seq === state.seq && !document.hidden && state.view === 'overview') state.timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = !message;
  }

  /**
   * An action's outcome, said where it was pressed: in the panel holding the button (its
   * `.panel-status` line, made on first use), so it covers nothing. The page-wide #status line (a
   * live region, out of sight) says it too, for screen readers and tests.
   */
  let statusTimer = 0;
  function setStatus(message, isError, near) {
    const panel = near && near.closest ? near.closest('.panel') : null;
    const lines = [$('status')];
    if (panel) {
      let line = panel.querySelector(':scope > .panel-status');
      if (!line) {
        line = el('p', { class: 'panel-status', 'data-test': 'panel-status' });
        const head = panel.querySelector(':scope > .panel-head, :scope > h2');
        if (head) head.after(line); else panel.prepend(line);
      }
      lines.push(line);
    }
    for (const other of document.querySelectorAll('.panel-status')) if (!lines.includes(other)) other.textContent = '';
    for (const line of lines) {
      line.textContent = message;
      line.classList.toggle('is-error', Boolean(isError));
    }
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { for (const line of lines) line.textContent = ''; }, isError ? 20000 : 8000);
  }

  /**
   * Runs an action, says how it went (next to `buttons[0]`), then reads the data again at once: the
   * cards and tables show the queue after the action, not 5 s later. `after` (optional) runs too.
   */
  async function act(buttons, run, describe, after) {
    for (const b of buttons) b.disabled = true;
    const near = buttons[0];
    try {
      const result = await run();
      setStatus(describe(result), false, near);
      if (after) await after(result);
    } catch (err) {
      setStatus(err.message, true, near);
    } finally {
      for (const b of buttons) b.disabled = false;
      if (state.view === 'overview') await refresh();
      // Nothing left to retry or cancel: the bulk buttons stay off.
      if (state.data) renderBulkButtons(state.data.dead);
    }
  }

  const jobPath = (id, action) => `/jobs/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
  const retryJob = (id, buttons, after) => act(buttons, () => request('POST', jobPath(id, 'retry')), () => 'Retried 1 job', after);
  const cancelJob = (id, buttons, after) => act(buttons, () => request('POST', jobPath(id, 'cancel')),
    (job) => (job.status === 'running' ? 'Asked the running job to stop: its drain stops it within seconds' : 'Cancelled 1 job'), after);

  // ---- rendering -----------------------------------------------------------------------------

  /** Calls draw(value) unless the table already shows exactly this value. */
  function drawOnce(key, value, draw) {
    const json = JSON.stringify(value);
    if (state.drawn[key] === json) return;
    state.drawn[key] = json;
    draw(value);
  }

  function fillBody(tableId, rows, emptyText, columns) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...rows);
    if (rows.length === 0) body.append(el('tr', { class: 'empty' }, el('td', { colspan: columns, text: emptyText })));
  }

  function render(data) {
    renderProblems(data.problems);
    renderSummary(data);
    renderCharts(data);
    drawOnce('times', data.times, renderTimes);
    renderDead(data);
    drawOnce('types', [data.types, typeCounts(data)], renderTypes);
    drawOnce('schedules', data.schedules, renderSchedules);
  }

  function renderProblems(problems) {
    const banner = $('problems');
    banner.hidden = problems.length === 0;
    banner.replaceChildren(el('strong', { text: 'Unhealthy: ' }), ...problems.map((p, i) => el('span', { text: (i ? '; ' : '') + p })));
  }

  function card(label, value, test, sub, tone) {
    return el('div', { class: `card${tone ? ` ${tone}` : ''}` },
      el('div', { class: 'card-label', text: label }),
      el('div', { class: 'card-value', text: value, 'data-test': test }),
      el('div', { class: 'card-sub', text: sub || '\u00a0' }));
  }

  function renderSummary(data) {
    const s = data.stats;
    const now = Date.parse(data.now);
    const d = data.depth;
    const lastSample = d.t.length ? `${d.due[d.t.length - 1].toLocaleString()} due at ${clock(new Date(d.t[d.t.length - 1] * 1000)).slice(0, 5)}` : '';
    const drainAge = data.lastDrainAt === null ? null : Math.max(0, now - Date.parse(data.lastDrainAt));
    $('summary').replaceChildren(
      card('Pending', s.pending.toLocaleString(), 'summary-pending', s.paused.length ? `${plural(s.paused.length, 'type')} paused` : ''),
      // 0 means no job is due (stats' oldestPendingAgeMs), not one that waited 0 ms.
      card('Oldest due', s.oldestPendingAgeMs > 0 ? duration(s.oldestPendingAgeMs) : '—', 'summary-oldest', s.oldestPendingAgeMs > 0 ? lastSample : 'none due'),
      card('Running', s.running.toLocaleString(), 'summary-running'),
      // Only dead jobs are red here: they wait for a human. Waits and drain ages are judged by health
      // (its thresholds are the server's configuration), whose problems fill the banner.
      card('Dead', s.dead.toLocaleString(), 'summary-dead', '', s.dead > 0 ? 'bad' : ''),
      card('Last good drain', drainAge === null ? 'never' : `${duration(drainAge)} ago`, 'summary-drain',
        data.lastDrainAt ? when(data.lastDrainAt) : ''),
    );
  }

  function renderTimes(times) {
    // The history's last bucket is "over 15 minutes": a percentile there is a floor, not a measure.
    // data-label: a narrow screen stacks each row as a card, every value under its column's name.
    const cell = (ms, label) => el('td', { class: 'num', 'data-label': label, text: ms !== null && ms >= 900000 ? `≥ ${duration(900000)}` : duration(ms) });
    fillBody('times-table', times.map((t) => el('tr', {},
      el('td', { class: 'stack-title', text: t.type }), el('td', { class: 'num', 'data-label': 'Runs', text: t.runs.toLocaleString() }),
      cell(t.runP50, 'Run p50'), cell(t.runP90, 'Run p90'), cell(t.runP99, 'Run p99'),
      cell(t.lagP50, 'Lag p50'), cell(t.lagP90, 'Lag p90'), cell(t.lagP99, 'Lag p99'))), 'No runs yet in this range.', 8);
  }

  const typeCounts = (data) => data.stats.byType;
  const knownTypes = (data) => [...new Set([...data.types.map((t) => t.type), ...Object.keys(data.stats.byType)])].sort();

  function renderDead(data) {
    const dead = data.dead;
    const types = knownTypes(data);
    drawOnce('dead-type', [types, types.map((t) => data.stats.byType[t]?.dead ?? 0), data.stats.dead], () => {
      const select = $('dead-type');
      const options = types.map((t) => el('option', { value: t, text: `${t} (${(data.stats.byType[t]?.dead ?? 0).toLocaleString()})` }));
      if (state.deadType && !types.includes(state.deadType)) options.push(el('option', { value: state.deadType, text: state.deadType }));
      select.replaceChildren(el('option', { value: '', text: `All types (${data.stats.dead.toLocaleString()})` }), ...options);
      select.value = state.deadType;
    });
    const of = dead.type ? ` of type ${dead.type}` : '';
    $('dead-count').textContent = dead.total > dead.jobs.length ? `newest ${dead.jobs.length} of ${dead.total.toLocaleString()}${of}` : `${dead.total.toLocaleString()}${of}`;
    $('dead-runs').href = `#/runs?${new URLSearchParams(dead.type ? { status: 'dead', type: dead.type } : { status: 'dead' })}`;
    renderBulkButtons(dead);
    drawOnce('dead', dead.jobs, (jobs) => fillBody('dead-table', jobs.map(deadRow), dead.type ? `No dead jobs of type ${dead.type}.` : 'No dead jobs.', 6));
  }

  function renderBulkButtons(dead) {
    const of = dead.type ? ` of type ${dead.type}` : '';
    for (const [id, verb] of [['bulk-retry', 'Retry'], ['bulk-cancel', 'Cancel']]) {
      $(id).textContent = `${verb} all ${dead.total.toLocaleString()}`;
      $(id).title = `${verb} every dead job${of}`;
      $(id).disabled = dead.total === 0;
    }
  }

  function deadRow(job) {
    const retry = el('button', { type: 'button', 'data-test': 'retry', text: 'Retry' });
    const cancel = el('button', { type: 'button', class: 'danger', 'data-test': 'cancel', text: 'Cancel' });
    retry.addEventListener('click', () => retryJob(job.id, [retry, cancel]));
    cancel.addEventListener('click', () => cancelJob(job.id, [retry, cancel]));
    return el('tr', { 'data-test': 'dead-row', 'data-id': job.id },
      el('td', {}, el('a', { class: 'mono', href: jobHref(job.id), text: shortId(job.id), title: job.id })),
      el('td', { text: job.type }),
      el('td', { class: 'num', text: `${job.attempts}/${job.maxAttempts}` }),
      el('td', { class: 'error-cell', text: shortError(job.lastError, 140) || '—', title: job.lastError || '' }),
      el('td', { class: 'nowrap', text: when(job.deadAt), title: job.deadAt || '' }),
      el('td', { class: 'row-actions' }, retry, cancel));
  }

  function bulk(verb) {
    const total = state.data ? state.data.dead.total : 0;
    const type = state.deadType;
    const of = type ? ` of type ${type}` : '';
    if (verb === 'cancel' && !confirm(`Cancel all ${plural(total, 'dead job')}${of}? They stay, cancelled, for the result retention, then are deleted.`)) return;
    act([$('bulk-retry'), $('bulk-cancel')], () => request('POST', `/dead/${verb}`, type ? { type } : {}),
      (r) => `${verb === 'retry' ? 'Retried' : 'Cancelled'} ${plural(r.count, 'dead job')}${of}`);
  }

  function limitText(limit) {
    if (!limit) return '—';
    const per = limit.periodMs ? ` per ${tickDuration(limit.periodMs)}` : '';
    const keys = limit.perKey ? ` (per key, ${plural(limit.keys, 'key')})` : '';
    return `${limit.held}/${limit.limit}${per}${keys}`;
  }

  function renderTypes([types, byType]) {
    fillBody('types-table', types.map((t) => {
      const verb = t.paused ? 'resume' : 'pause';
      const button = el('button', { type: 'button', 'data-test': verb, text: t.paused ? 'Resume' : 'Pause', 'aria-label': `${t.paused ? 'Resume' : 'Pause'} ${t.type}` });
      button.addEventListener('click', () => act([button], () => request('POST', `/types/${encodeURIComponent(t.type)}/${verb}`),
        () => `${t.paused ? 'Resumed' : 'Paused'} ${t.type}`));
      const counts = byType[t.type];
      // The button's column comes first on a narrow screen (CSS): Pause is never out of reach.
      return el('tr', {},
        el('td', { class: 'stack-title', text: t.type }),
        el('td', { 'data-label': 'State' }, t.paused ? el('span', { class: 'badge paused', text: 'paused', title: t.pausedAt ? `since ${t.pausedAt}` : '' }) : el('span', { class: 'badge', text: 'active' }),
          t.paused && t.pausedAt ? el('span', { class: 'muted', text: ` since ${when(t.pausedAt)}` }) : null),
        el('td', { class: 'num', 'data-label': 'Pending', text: (counts ? counts.pending : 0).toLocaleString() }),
        el('td', { class: 'num', 'data-label': 'Running', text: (counts ? counts.running : 0).toLocaleString() }),
        el('td', { class: 'nowrap', 'data-label': 'Concurrency', text: limitText(t.concurrency) }),
        el('td', { class: 'nowrap', 'data-label': 'Rate limit', text: limitText(t.rateLimit) }),
        el('td', { class: 'row-actions stack-action' }, button));
    }), 'No job types.', 7);
  }

  function renderSchedules(schedules) {
    $('schedules').hidden = schedules.length === 0;
    fillBody('schedules-table', schedules.map((s) => el('tr', {},
      el('td', { class: 'stack-title', text: s.name }), el('td', { 'data-label': 'Cron' }, el('code', { text: s.cron })), el('td', { 'data-label': 'Time zone', text: s.timezone }),
      el('td', { 'data-label': 'Job type', text: s.type }), el('td', { class: 'nowrap', 'data-label': 'Next slot', text: when(s.nextSlot), title: s.nextSlot || '' }),
      el('td', { class: 'nowrap', 'data-label': 'Last slot', text: when(s.lastSlot), title: s.lastSlot || '' }))), '', 6);
  }

  // ---- charts (uPlot) ------------------------------------------------------------------------

  const COLORS = { pending: '#2563eb', due: '#d97706', running: '#059669', dead: '#dc2626', completed: '#059669', retried: '#d97706', rescued: '#7c3aed', age: '#0891b2' };
  const RANGE_SECONDS = { '1h': 3600, '6h': 6 * 3600, '24h': 24 * 3600, '7d': 7 * 24 * 3600 };
  // Axis steps: whole jobs, and round durations (ms), so no tick reads "0.4 jobs" or "1m 07s".
  const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];
  const DURATION_STEPS = [1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5];
  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  const UNITS = [[864e5, 'd'], [36e5, 'h'], [6e4, 'm'], [1e3, 's']];
  /** 0, 30s, 5m, 1h30m: an axis tick. */
  function tickDuration(ms) {
    for (let i = 0; i < UNITS.length; i++) {
      const [size, unit] = UNITS[i];
      if (ms < size) continue;
      const whole = Math.floor(ms / size);
      const next = UNITS[i + 1];
      const rest = next ? Math.round((ms - whole * size) / next[0]) : 0;
      return rest ? `${whole}${unit}${rest}${next[1]}` : `${whole}${unit}`;
    }
    return ms === 0 ? '0' : `${Math.round(ms)}ms`;
  }

  const chartHeight = (width) => (width < 560 ? 170 : 210);

  /** series: [{ label, color, fill?, points? }]; kind: 'count' or 'duration' (ms). */
  function makeChart(id, series, kind) {
    const box = $(id);
    const width = Math.max(box.clientWidth, 200);
    const isDuration = kind === 'duration';
    const legendValue = isDuration ? duration : (v) => v.toLocaleString();
    const axis = { stroke: '#6b7280', font: '11px system-ui, sans-serif', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } };
    const chart = new uPlot({
      width,
      height: chartHeight(width),
      // No drag-to-zoom (the next refresh would undo it); hovering one chart shows the same minute on all.
      cursor: { drag: { x: false, y: false }, sync: { key: 'sluice' } },
      scales: {
        x: { time: true, range: () => state.xRange },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : (isDuration ? 60000 : 5)] },
      },
      axes: [axis, { ...axis, size: isDuration ? 60 : 50, incrs: isDuration ? DURATION_STEPS : COUNT_STEPS,
        values: (u, ticks) => ticks.map(isDuration ? tickDuration : (v) => compact.format(v)) }],
      series: [
        { value: (u, v) => (v == null ? '—' : when(new Date(v * 1000).toISOString())) },
        ...series.map((s) => ({ label: s.label, stroke: s.color, fill: s.fill, width: 1.5, spanGaps: false, points: s.points,
          value: (u, v) => (v == null ? '—' : legendValue(v)) })),
      ],
    }, [[], ...series.map(() => [])], box);
    new ResizeObserver(() => {
      const w = box.clientWidth;
      if (w > 0 && w !== chart.width) chart.setSize({ width: w, height: chartHeight(w) });
    }).observe(box);
    return chart;
  }

  /**
   * The depth series with a null after every missing step: the line breaks where no sample was
   * taken (an idle tick skipped the database) instead of drawing a slope nobody measured.
   */
  function withGaps(t, columns, step) {
    const out = [[], ...columns.map(() => [])];
    for (let i = 0; i < t.length; i++) {
      if (i > 0 && t[i] - t[i - 1] > step * 1.5) {
        out[0].push(t[i - 1] + step);
        columns.forEach((c, k) => out[k + 1].push(null));
      }
      out[0].push(t[i]);
      columns.forEach((c, k) => out[k + 1].push(c[i]));
    }
    return out;
  }

  /** `empty` says why nothing is drawn (a fresh install, a quiet range), over the chart's axes. */
  function setChart(id, series, kind, data, empty) {
    const chart = (state.charts[id] ??= makeChart(id, series, kind));
    $(id).classList.toggle('is-empty', Boolean(empty));
    if (empty) $(id).dataset.empty = empty;
    chart.setData(data);
  }
  const hasValue = (columns) => columns.some((c) => c.some((v) => v !== null && v > 0));

  function renderCharts(data) {
    const now = Math.floor(Date.parse(data.now) / 1000);
    state.xRange = [now - RANGE_SECONDS[data.range], now];
    const d = data.depth;
    setChart('depth-chart', [
      { label: 'pending', color: COLORS.pending }, { label: 'due', color: COLORS.due },
      { label: 'running', color: COLORS.running }, { label: 'dead', color: COLORS.dead },
    ], 'count', withGaps(d.t, [d.pending, d.due, d.running, d.dead], data.step),
    d.t.length ? '' : 'No samples yet in this range: the cron tick records the depth once a minute');
    setChart('age-chart', [{ label: 'oldest due', color: COLORS.age, fill: 'rgba(8, 145, 178, 0.08)' }], 'duration', withGaps(d.t, [d.oldestDueMs], data.step),
      d.t.length === 0 ? 'No samples yet in this range' : hasValue([d.oldestDueMs]) ? '' : 'No job waited in this range');

    const tp = data.throughput;
    const types = Object.keys(tp.byType).sort();
    drawOnce('throughput-type', types, () => {
      $('throughput-type').replaceChildren(el('option', { value: '', text: 'all types' }), ...types.map((t) => el('option', { value: t, text: t })));
    });
    if (!types.includes(state.throughputType)) state.throughputType = '';
    $('throughput-type').value = state.throughputType;
    const of = state.throughputType ? tp.byType[state.throughputType] : tp.total;
    $('throughput-step').textContent = data.step === 60 ? 'per minute' : data.step === 3600 ? 'per hour' : `per ${data.step / 60} minutes`;
    // Every step has a value here (0 when idle): dots would only clutter the lines.
    const noDots = { show: false };
    setChart('throughput-chart', [
      { label: 'completed', color: COLORS.completed, fill: 'rgba(5, 150, 105, 0.08)', points: noDots },
      { label: 'retried', color: COLORS.retried, points: noDots },
      { label: 'dead', color: COLORS.dead, points: noDots }, { label: 'rescued', color: COLORS.rescued, points: noDots },
    ], 'count', [tp.t, of.completed, of.retried, of.dead, of.rescued],
    hasValue([of.completed, of.retried, of.dead, of.rescued]) ? '' : 'No runs yet in this range');
  }

  // ---- views and wiring ------------------------------------------------------------------------

  const jobHref = (id) => `#/jobs/${encodeURIComponent(id)}`;
  /** The views of the hash router; runs.js and job.js add theirs: { enter(arg), leave() }. */
  const views = {
    overview: {
      enter() {
        readHash();
        $('range').value = state.range;
        refresh();
      },
      leave() { clearTimeout(state.timer); },
    },
  };

  /** `#/jobs/<id>`: a job's page; `#/runs?<filter>`: the runs browser; anything else: the overview. */
  function route() {
    // The old link to a job's detail (#job=<id>, from logs and bookmarks) opens its page.
    const legacy = location.hash.startsWith('#/') ? null : new URLSearchParams(location.hash.slice(1)).get('job');
    if (legacy) history.replaceState(null, '', jobHref(legacy));
    const hash = location.hash;
    let view = 'overview';
    let arg = null;
    if (hash.startsWith('#/jobs/')) { view = 'job'; arg = decodeURIComponent(hash.slice('#/jobs/'.length).split(/[?/]/)[0]); }
    else if (hash.startsWith('#/runs')) { view = 'runs'; arg = new URLSearchParams(hash.split('?')[1] || ''); }
    if (state.view && state.view !== view) views[state.view].leave();
    state.view = view;
    for (const name of Object.keys(views)) $(`view-${name}`).hidden = name !== view;
    document.body.dataset.view = view;
    for (const link of document.querySelectorAll('[data-nav]')) {
      if (link.dataset.nav === (view === 'job' ? 'runs' : view)) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    views[view].enter(arg);
  }

  function start() {
    $('range').addEventListener('change', () => { state.range = $('range').value; writeHash(); refresh(); });
    $('dead-type').addEventListener('change', () => { state.deadType = $('dead-type').value; writeHash(); refresh(); });
    $('throughput-type').addEventListener('change', () => {
      state.throughputType = $('throughput-type').value;
      if (state.data) renderCharts(state.data);
    });
    $('bulk-retry').addEventListener('click', () => bulk('retry'));
    $('bulk-cancel').addEventListener('click', () => bulk('cancel'));
    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) clearTimeout(state.timer);
      else if (state.view === 'overview') refresh();
    });
    route();
  }

  // What runs.js and job.js share (they load after this script, before the document is parsed to its end).
  window.Sluice = {
    $, el, request, plural, duration, when, clock, shortId, shortError, jobHref, jobPath, act, setStatus,
    retryJob, cancelJob, views, state,
  };
  document.addEventListener('DOMContentLoaded', start);
})();
