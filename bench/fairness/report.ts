import type { Fairness, FairnessRow } from '../scenarios/fairness.js';

/** The fairness scenario's section of latest.md, and so of README's Performance section. */

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: digits }) : '–');
const ms = (x: number) => (Number.isFinite(x) ? `${fmt(x)} ms` : '–');

function drained(r: FairnessRow): string {
  if (!r.capped) return `${fmt(r.totalMs / 1000, 1)} s`;
  return `capped at ${fmt(r.capMs / 1000)} s: ${fmt(r.completed)} done (${fmt((r.completed / r.totalMs) * 1000)} jobs/s)`;
}

export function fairnessLines(f: Fairness): string[] {
  const when = f.smallAfter === 0 ? 'right after it, before the worker started' : `once the worker had started ${fmt(f.smallAfter)} of the backlog`;
  const crawl = f.rows.find((r) => r.crawls);
  const lines = [
    '',
    `**Fairness across tenants**: one tenant's backlog of ${fmt(f.big)} jobs of ${f.jobMs} ms (a timer), then another tenant's ${f.small} jobs, enqueued ${when} over a connection of its own; one worker process per row running ${f.concurrency} jobs at once. The small tenant's times run from its enqueue returning; "big jobs ahead" started after its enqueue was sent and before its last job started; "place" is that job's place in the start order of all ${fmt(f.big + f.small)}.`,
    '',
    `Each system's closest equivalent: Sluice's \`fairness: { key }\` claims a type's jobs round-robin across keys. pg-boss has no round-robin; its tool for tenants is \`groupConcurrency\`, a cap on a group's active jobs, here 5 of the 10 handlers so that the big tenant leaves room (with two fetch loops of 5: a cap only shows in a fetch made while the capped group's jobs are active), or a queue per tenant with a worker each (5 handlers each). graphile-worker has neither; a named queue per tenant (\`queueName\`) keeps the small tenant off the big one's line but runs each tenant's jobs one at a time${crawl ? `, and a backlog in one named queue runs a few jobs a second (a worker asks for the queue's next job before its last completion is written, finds the queue locked and waits for its 2 s poll), so that row runs to a ${fmt(crawl.capMs / 1000)} s cap${crawl.arriveAfterMs === undefined ? '' : ` and its small tenant arrives ${fmt(crawl.arriveAfterMs / 1000)} s in`}` : ''}.`,
    '',
    '| system | small tenant arrived after | its first job started | its last job started | its last job done | big jobs ahead | place | everything drained | handlers busy (avg / peak) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of f.rows) {
    const last = r.smallStarted < f.small ? `${r.smallStarted} of ${f.small} started` : ms(r.lastStartMs);
    lines.push(`| ${r.label} | ${fmt(r.startedAtArrival)} starts | ${ms(r.firstStartMs)} | ${last} | ${ms(r.lastEndMs)} | ${fmt(r.bigAhead)} | ${fmt(r.position)} | ${drained(r)} | ${fmt(r.avgRunning, 1)} / ${r.peakRunning} |`);
  }
  return lines;
}
