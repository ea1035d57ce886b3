// The runs browser (#/runs?status=&type=&from=&to=&id=&key=): one page of GET <page>/jobs at a time,
// newest first, with the engine's opaque nextCursor for "Older" and the cursors already seen for
// "Newer". The filter lives in the hash (a link to a filtered list can be shared); the cursors do not.
// Loaded after app.js, whose helpers it takes from window.Sluice.
(function () {
  'use strict';

  const { $, el, request, plural, duration, when, shortId, shortError, jobHref, views, state: app } = window.Sluice;
  const FIELDS = ['status', 'type', 'from', 'to', 'id', 'idempotencyKey'];
  const ENDED = ['completed', 'dead', 'cancelled'];
  /** The time each status is ordered and filtered by (the contract's list): its column's heading and value. */
  const WHEN = {
    '': ['Enqueued', (j) => j.createdAt],
    pending: ['Due', (j) => j.runAfter],
    waiting: ['Waits until', (j) => j.runAfter],
    running: ['Started', (j) => j.startedAt],
    completed: ['Completed', (j) => j.completedAt],
    dead: ['Died', (j) => j.deadAt],
    cancelled: ['Cancelled', (j) => j.cancelledAt],
  };

  const runs = {
    filter: {},
    /** The cursor of each page shown so far: [null (the newest), cursor of page 2, ...]. */
    cursors: [null],
    next: null,
    seq: 0,
    askedTypes: false,
  };

  // ---- the filter: hash <-> form <-> query ---------------------------------------------------

  const form = () => $('runs-filter');

  /** An ISO instant as a datetime-local value in the viewer's zone (the input has no zone of its own). */
  function localInput(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fromHash(params) {
    const filter = {};
    for (const name of FIELDS) {
      const value = (params.get(name) || '').trim();
      if (value) filter[name] = value;
    }
    return filter;
  }

  function fillForm(filter) {
    const f = form();
    for (const name of FIELDS) {
      const value = filter[name] || '';
      f.elements[name].value = name === 'from' || name === 'to' ? (value ? localInput(value) : '') : value;
    }
  }

  function readForm() {
    const f = form();
    const filter = {};
    for (const name of FIELDS) {
      let value = f.elements[name].value.trim();
      // datetime-local reads in the viewer's zone; the server takes an instant with its zone.
      if ((name === 'from' || name === 'to') && value) value = new Date(value).toISOString();
      if (value) filter[name] = value;
    }
    return filter;
  }

  const hashOf = (filter) => {
    const query = new URLSearchParams(filter).toString();
    return query ? `#/runs?${query}` : '#/runs';
  };

  // ---- loading and drawing a page ------------------------------------------------------------

  async function load() {
    const seq = ++runs.seq;
    const page = runs.cursors.length;
    const query = new URLSearchParams({ ...runs.filter, limit: '50' });
    const cursor = runs.cursors[page - 1];
    if (cursor) query.set('cursor', cursor);
    $('runs-table').setAttribute('aria-busy', 'true');
    try {
      const answer = await request('GET', `/jobs?${query}`);
      if (seq !== runs.seq) return;
      runs.next = answer.nextCursor;
      draw(answer.jobs, page);
      showError('');
    } catch (err) {
      if (seq === runs.seq) showError(`Could not load the runs: ${err.message}`);
    } finally {
      if (seq === runs.seq) $('runs-table').removeAttribute('aria-busy');
    }
  }

  function showError(message) {
    $('runs-error').textContent = message;
    $('runs-error').hidden = !message;
  }

  function draw(jobs, page) {
    const status = runs.filter.status || '';
    const [heading, at] = WHEN[status] || WHEN[''];
    $('runs-when').textContent = heading;
    $('runs-count').textContent = jobs.length === 0 ? '' : `${plural(jobs.length, 'run')}, newest first`;
    const body = $('runs-table').tBodies[0];
    body.replaceChildren(...jobs.map((job) => row(job, at)));
    if (jobs.length === 0) {
      const empty = page > 1 ? 'No older runs.' : Object.keys(runs.filter).length ? 'No runs match this filter.' : 'No runs yet.';
      body.append(el('tr', { class: 'empty' }, el('td', { colspan: 7, text: empty })));
    }
    $('runs-page').textContent = page > 1 || runs.next ? `page ${page}` : '';
    $('runs-newer').disabled = page <= 1;
    $('runs-older').disabled = !runs.next;
    // A bulk replay takes status, type and time range: not offered for one id or key (replay that job from its page).
    $('runs-replay').hidden = !ENDED.includes(status) || Boolean(runs.filter.id || runs.filter.idempotencyKey);
  }

  /** How long the last run took, when it is known (a completed job: started to completed). */
  function took(job) {
    const end = job.completedAt || job.deadAt || job.cancelledAt;
    if (!job.startedAt || !end) return '—';
    const ms = Date.parse(end) - Date.parse(job.startedAt);
    return ms >= 0 ? duration(ms) : '—';
  }

  function row(job, at) {
    const time = at(job);
    return el('tr', { 'data-test': 'run-row', 'data-id': job.id, 'data-status': job.status },
      el('td', { class: 'stack-title' }, el('a', { class: 'mono', href: jobHref(job.id), text: shortId(job.id), title: job.id })),
      el('td', { 'data-label': 'Type', text: job.type }),
      el('td', { 'data-label': 'Status' }, el('span', { class: `badge status-${job.status}`, text: job.status })),
      el('td', { class: 'num', 'data-label': 'Attempts', text: `${job.attempts}/${job.maxAttempts}` }),
      el('td', { class: 'nowrap', 'data-label': $('runs-when').textContent, text: when(time), title: time || '' }),
      el('td', { class: 'num', 'data-label': 'Took', text: took(job) }),
      // Red only for a job that ended on it: a completed or retried job's error is history.
      el('td', { class: `error-cell${job.status === 'dead' ? '' : ' is-past'}`, 'data-label': 'Last error', text: shortError(job.lastError, 120) || '—', title: job.lastError || '' }));
  }

  // ---- replaying every run of the filter -----------------------------------------------------

  async function replayAll(button) {
    const { status, type, from, to } = runs.filter;
    const filter = Object.fromEntries(Object.entries({ status, type, from, to }).filter(([, v]) => v));
    const scope = [type && `of type ${type}`, from && `since ${when(from)}`, to && `until ${when(to)}`].filter(Boolean).join(' ');
    if (!confirm(`Replay every ${filter.status} run${scope ? ` ${scope}` : ''}? Each becomes a new pending job; the originals stay as they are.`)) return;
    await window.Sluice.act([button], () => request('POST', '/replay', { filter }),
      (r) => `Replayed ${plural(r.count, `${filter.status} run`)}${r.more ? ': more match, press again for the next batch' : ''}`);
  }

  /** The app's types as the type box's suggestions: the overview's, or (opened here first) read once. */
  async function suggestTypes() {
    if (!app.data && !runs.askedTypes) {
      runs.askedTypes = true;
      try { app.data = await request('GET', '/data?range=1h'); } catch { return; } // only suggestions: the box still takes any name
    }
    if (app.data) $('runs-types').replaceChildren(...app.data.types.map((t) => el('option', { value: t.type })));
  }

  // ---- the view ------------------------------------------------------------------------------

  views.runs = {
    enter(params) {
      runs.filter = fromHash(params);
      runs.cursors = [null];
      runs.next = null;
      fillForm(runs.filter);
      load();
      suggestTypes();
    },
    leave() { runs.seq++; },
  };

  function wire() {
    form().addEventListener('submit', (e) => {
      e.preventDefault();
      const target = hashOf(readForm());
      // The same filter again: read it again (the hash would not change).
      if (target === location.hash) { runs.cursors = [null]; load(); } else location.hash = target;
    });
    form().addEventListener('reset', (e) => {
      e.preventDefault();
      location.hash = '#/runs';
    });
    $('runs-older').addEventListener('click', () => {
      if (!runs.next) return;
      runs.cursors.push(runs.next);
      load();
    });
    $('runs-newer').addEventListener('click', () => {
      if (runs.cursors.length <= 1) return;
      runs.cursors.pop();
      load();
    });
    $('runs-replay').addEventListener('click', (e) => replayAll(e.currentTarget).then(() => { runs.cursors = [null]; load(); }));
  }

  document.addEventListener('DOMContentLoaded', wire);
})();
