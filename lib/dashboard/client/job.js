// A job's page (#/jobs/<id>): what happened to it as a timeline (enqueued, each attempt with its
// outcome and error, its steps, child jobs and waits, its end), its payload, result and error, and its
// actions (retry, cancel, replay, replay from a step). While the job has yet to end the page reads it
// again every POLL_MS, so progress and the end show as they happen; a read that changed nothing
// leaves the page alone (a text selection survives). Loaded after app.js (window.Sluice).
(function () {
  'use strict';

  const { $, el, request, plural, duration, when, shortId, jobHref, jobPath, act, setStatus, retryJob, cancelJob, views } = window.Sluice;
  const POLL_MS = 1000;
  const ENDED = ['completed', 'dead', 'cancelled'];

  // flash: an action's outcome, said again in the redrawn page (the action redraws the panel it was said in).
  const page = { id: '', seq: 0, timer: 0, drawn: '', progress: '', flash: '' };

  // ---- loading -------------------------------------------------------------------------------

  async function load() {
    clearTimeout(page.timer);
    const seq = ++page.seq;
    const id = page.id;
    try {
      const job = await request('GET', jobPath(id));
      if (seq !== page.seq) return;
      draw(job);
      if (!ENDED.includes(job.status)) page.timer = setTimeout(load, POLL_MS);
    } catch (err) {
      if (seq !== page.seq) return;
      page.drawn = '';
      $('view-job').replaceChildren(el('section', { class: 'panel' }, backLink(),
        el('p', { class: 'is-error', 'data-test': 'job-error', text: `Could not load job ${id}: ${err.message}` })));
    }
  }

  /** The whole page when anything but the progress changed; else only the progress block. */
  function draw(job) {
    const { progress, ...rest } = job;
    const json = JSON.stringify(rest);
    const progressJson = JSON.stringify(progress ?? null);
    if (json === page.drawn) {
      if (progressJson !== page.progress) drawProgress(progress);
      page.progress = progressJson;
      return;
    }
    page.drawn = json;
    page.progress = progressJson;
    $('view-job').replaceChildren(...parts(job));
    drawProgress(progress);
    if (page.flash) {
      setStatus(page.flash, false, $('view-job').querySelector('.job-head .actions'));
      page.flash = '';
    }
  }

  function drawProgress(progress) {
    const box = $('job-progress');
    if (!box) return;
    box.hidden = progress === null || progress === undefined;
    if (!box.hidden) box.querySelector('[data-test=detail-progress]').replaceChildren(codeBlock(progress, 'progress'));
  }

  // ---- pieces --------------------------------------------------------------------------------

  const backLink = () => el('a', { class: 'back', href: '#/runs', text: '← Runs' });
  const link = (id, text) => el('a', { href: jobHref(id), class: 'mono', text: text || id, title: id });
  const badge = (status) => el('span', { class: `badge status-${status}`, 'data-test': 'job-status', text: status });
  const json = (value) => (value === undefined ? 'undefined' : JSON.stringify(value, null, 2));

  /** A copy button for `text` (the Clipboard API; the page is same-origin and user-initiated). */
  function copyButton(text, what) {
    const button = el('button', { type: 'button', class: 'quiet copy', 'data-test': `copy-${what}`, text: 'Copy', 'aria-label': `Copy the ${what}` });
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Select and copy';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    });
    return button;
  }

  /** Pretty JSON (or an error's text) in a <pre>, with a copy button over its corner. */
  function codeBlock(value, what, isError) {
    const text = isError ? String(value) : json(value);
    return el('div', { class: 'code' }, copyButton(text, what), el('pre', { class: isError ? 'error-text' : 'json', 'data-test': `job-${what}`, text }));
  }

  function panel(title, attrs, ...children) {
    return el('section', { class: 'panel', ...attrs }, el('h2', { text: title }), ...children);
  }

  // ---- the head: what it is, where it came from, what can be done ----------------------------

  function head(job) {
    const facts = [`${job.type}`, `attempt ${job.attempts} of ${job.maxAttempts}`, `enqueued ${when(job.createdAt)}`];
    const origin = [];
    if (job.replayOf) origin.push(el('p', { 'data-test': 'job-replay-of' }, el('span', { text: 'Replay of ' }), link(job.replayOf)));
    if (job.parentId) origin.push(el('p', { 'data-test': 'detail-parent' }, el('span', { text: 'Child job of ' }), link(job.parentId)));
    if (job.replays && job.replays.length) {
      origin.push(el('div', { 'data-test': 'job-replays' }, el('span', { text: `Replayed as ${plural(job.replays.length, 'job')}: ` }),
        ...job.replays.flatMap((r, i) => [i ? el('span', { text: ', ' }) : null, link(r.id, shortId(r.id)), el('span', { class: 'muted', text: ` (${r.status}, ${when(r.createdAt)})` })])));
    }
    return el('section', { class: 'panel job-head' },
      el('div', { class: 'panel-head' },
        el('div', {}, backLink(),
          el('h2', { class: 'job-title' }, el('span', { text: job.type }), badge(job.status)),
          el('div', { class: 'job-id' }, el('code', { 'data-test': 'job-id', text: job.id }), copyButton(job.id, 'id')),
          el('p', { class: 'muted job-facts', text: facts.slice(1).join(' · ') })),
        actions(job)),
      ...origin);
  }

  function actions(job) {
    const buttons = [];
    const box = el('div', { class: 'actions job-actions', 'data-test': 'job-actions' });
    const reload = () => { page.flash = $('status').textContent; page.drawn = ''; return load(); };
    if (job.status === 'dead') {
      const retry = el('button', { type: 'button', 'data-test': 'detail-retry', text: 'Retry' });
      retry.addEventListener('click', () => retryJob(job.id, [retry, ...buttons], reload));
      buttons.push(retry);
    }
    // A running job is stopped by its drain's next heartbeat (a few seconds); one already asked to stop is not asked again.
    const cancellable = ['pending', 'waiting', 'dead'].includes(job.status) || (job.status === 'running' && !job.cancelRequestedAt);
    if (cancellable) {
      const cancel = el('button', { type: 'button', class: 'danger', 'data-test': 'detail-cancel', text: 'Cancel' });
      cancel.addEventListener('click', () => cancelJob(job.id, [cancel, ...buttons], reload));
      buttons.push(cancel);
    }
    if (ENDED.includes(job.status)) {
      const replay = el('button', { type: 'button', 'data-test': 'job-replay', text: 'Replay' });
      replay.addEventListener('click', () => replayJob(job, undefined, [replay, ...buttons]));
      buttons.push(replay);
      if (job.steps.length) {
        // Replaying from a step keeps the results of the steps before it and runs it and the rest again.
        const select = el('select', { 'data-test': 'job-replay-step', 'aria-label': 'Step to replay from' },
          ...job.steps.map((s) => el('option', { value: s.name, text: s.name })));
        const from = el('button', { type: 'button', 'data-test': 'job-replay-from', text: 'Replay from step' });
        from.addEventListener('click', () => replayJob(job, select.value, [from, ...buttons]));
        box.append(...buttons, el('span', { class: 'step-pick' }, select, from));
        buttons.push(from);
        return box;
      }
    }
    box.append(...buttons);
    return box;
  }

  /** A new job from this one (all of it, or from `fromStep`); the page then shows the new job. */
  function replayJob(job, fromStep, buttons) {
    return act(buttons, () => request('POST', jobPath(job.id, 'replay'), fromStep ? { fromStep } : {}),
      (created) => `Replayed ${fromStep ? `from step ${fromStep}` : 'the job'}: new job ${shortId(created.id)}`,
      (created) => { page.flash = $('status').textContent; location.hash = jobHref(created.id); });
  }

  // ---- the timeline --------------------------------------------------------------------------

  /** Entries { at, kind, title, detail?, extra? }, oldest first. */
  function events(job) {
    const list = [{ at: job.createdAt, kind: 'enqueued', title: 'Enqueued', detail: job.runAfter !== job.createdAt ? `due ${when(job.runAfter)}` : '' }];
    const log = Array.isArray(job.attemptLog) ? job.attemptLog : null;
    if (log) {
      for (const a of log) {
        list.push({
          at: a.startedAt || a.endedAt, kind: `attempt outcome-${a.outcome}`, test: 'timeline-attempt',
          title: `Attempt ${a.attempt}`, badge: a.outcome, detail: took(a.durationMs),
          extra: a.error ? el('pre', { class: 'error-text', 'data-test': 'attempt-error', text: a.error }) : null,
        });
      }
    } else if (job.startedAt) {
      // An engine without the attempt log: the latest attempt only.
      list.push({ at: job.startedAt, kind: 'attempt', test: 'timeline-attempt', title: `Attempt ${job.attempts}`, detail: 'started' });
    }
    const children = new Map((job.children || []).map((c) => [c.name, c]));
    for (const step of job.steps) {
      const child = children.get(step.name);
      children.delete(step.name);
      list.push({
        at: step.finishedAt, kind: 'step', test: 'timeline-step', title: `Step ${step.name}`,
        detail: took(step.durationMs),
        extra: el('div', {}, child ? childLine(child) : null,
          el('details', {}, el('summary', { text: 'result' }), codeBlock(step.result, `step-${step.name}`))),
      });
    }
    list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    // Children whose invoke has not finished as a step: in flight, after everything that has.
    for (const child of children.values()) list.push({ at: null, kind: 'child', test: 'timeline-child', title: `Invoked ${child.name}`, extra: childLine(child) });
    if (job.status === 'waiting') {
      const on = job.waitingFor && job.waitingFor.length
        ? `Waiting for ${job.waitingFor.map((w) => `${w.event} (${w.key || 'no key'})`).join(', ')}`
        : 'Waiting for its child jobs';
      list.push({ at: null, kind: 'waiting', test: 'detail-waiting', title: on, detail: job.runAfter ? `until ${when(job.runAfter)} at the latest` : '' });
    }
    const end = {
      completed: [job.completedAt, 'Completed'], dead: [job.deadAt, 'Died'], cancelled: [job.cancelledAt, 'Cancelled'],
    }[job.status];
    if (end) list.push({ at: end[0], kind: `end outcome-${job.status}`, test: 'timeline-end', title: end[1] });
    else if (job.status === 'running') list.push({ at: null, kind: 'now', title: job.cancelRequestedAt ? 'Running; asked to stop' : 'Running now' });
    return list;
  }

  /** A measured time; under a millisecond reads so, not "0 ms". */
  const took = (ms) => (ms === null || ms === undefined ? '' : ms < 1 ? 'under 1 ms' : duration(ms));

  const childLine = (child) => el('p', { class: 'child', 'data-test': 'detail-child' },
    el('span', { class: 'muted', text: `child job ${child.name}: ` }), link(child.id, `${child.type}: ${child.status}`));

  function timeline(job) {
    return panel('Timeline', { 'data-test': 'job-timeline' }, el('ol', { class: 'timeline' }, ...events(job).map((e) => el('li', { class: `tl ${e.kind}`, 'data-test': e.test },
      el('time', { class: 'tl-at', text: e.at ? when(e.at) : '', title: e.at || '' }),
      el('div', { class: 'tl-body' },
        el('div', { class: 'tl-title' }, el('strong', { text: e.title }), e.badge ? el('span', { class: `badge outcome-${e.badge}`, text: e.badge }) : null,
          e.detail ? el('span', { class: 'muted', text: e.detail }) : null),
        e.extra || null)))));
  }

  // ---- the page ------------------------------------------------------------------------------

  function parts(job) {
    const out = [head(job)];
    out.push(el('section', { class: 'panel', id: 'job-progress', hidden: true }, el('h2', { text: 'Progress' }),
      el('div', { 'data-test': 'detail-progress' })));
    out.push(timeline(job));
    if (job.status === 'completed') out.push(panel('Result', { 'data-test': 'detail-result' }, codeBlock(job.result, 'result')));
    // A job that went on after an error (retried, then completed) shows it as its past, not its end.
    if (job.lastError) out.push(panel(job.status === 'dead' ? 'Error' : 'Last error (an earlier attempt)', { 'data-test': 'detail-error' }, codeBlock(job.lastError, 'error', true)));
    out.push(panel('Payload', { 'data-test': 'detail-payload' }, codeBlock(job.payload, 'payload')));
    const facts = [
      ['Status', job.status], ['Priority', job.priority], ['Run after', job.runAfter], ['Created', job.createdAt], ['Started', job.startedAt],
      ['Died', job.deadAt], ['Completed', job.completedAt], ['Cancel requested', job.cancelRequestedAt], ['Cancelled', job.cancelledAt],
      ['Idempotency key', job.idempotencyKey], ['Debounce key', job.debounceKey], ['Trace parent', job.traceParent],
    ].filter(([, v]) => v !== null && v !== undefined);
    out.push(panel('Details', {}, el('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]))));
    return out;
  }

  views.job = {
    enter(id) {
      if (id !== page.id) {
        page.drawn = '';
        page.progress = '';
        $('view-job').replaceChildren(el('section', { class: 'panel' }, backLink(), el('p', { class: 'muted', text: 'Loading…' })));
      }
      page.id = id;
      window.scrollTo(0, 0);
      load();
    },
    leave() {
      clearTimeout(page.timer);
      page.seq++;
    },
  };
})();
