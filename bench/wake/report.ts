import type { Results, Target } from '../report.js';
import type { WakeBacklog } from '../scenarios/wake-backlog.js';
import type { LatencyRow } from '../scenarios/wake-latency.js';

/** The wake scenarios' part of the report (issue 9): their targets and their sections of latest.md. */

const fmt = (x: number, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits });
const none = (what: string, goal: string): Target => ({ what, goal, measured: 'not measured', met: null });

/** The always-on worker with the lowest median, if any was measured. */
const fastestPeer = (rows: LatencyRow[]) =>
  rows.filter((r) => r.system !== 'sluice').reduce<LatencyRow | undefined>((a, b) => (!a || b.p50Ms < a.p50Ms ? b : a), undefined);

export function wakeTargets(r: Results): Target[] {
  const t: Target[] = [];
  const rows = r.wakeLatency?.rows ?? [];
  const sluice = rows.find((row) => row.system === 'sluice');
  t.push(sluice
    ? { what: 'enqueue-to-start latency, kick (npm run dev, no cron)', goal: 'p50 <= 50 ms, p99 <= 250 ms', measured: `p50 ${sluice.p50Ms} ms, p99 ${sluice.p99Ms} ms`, met: sluice.p50Ms <= 50 && sluice.p99Ms <= 250 }
    : none('enqueue-to-start latency, kick', 'p50 <= 50 ms, p99 <= 250 ms'));
  const peer = fastestPeer(rows);
  if (sluice && peer) {
    const [p50, p99] = [sluice.p50Ms / peer.p50Ms, sluice.p99Ms / peer.p99Ms];
    t.push({
      what: 'enqueue-to-start latency vs the fastest always-on worker', goal: '<= 2x',
      measured: `${p50.toFixed(1)}x at p50, ${p99.toFixed(1)}x at p99 (${peer.system}, ${peer.wakeUp}: ${peer.p50Ms} / ${peer.p99Ms} ms)`, met: p50 <= 2 && p99 <= 2,
    });
  } else t.push(none('enqueue-to-start latency vs the fastest always-on worker', '<= 2x'));

  const idle = r.wakeIdle;
  const hinted = idle?.rows.find((row) => row.checkEveryMin > 0);
  const every = idle?.rows.find((row) => row.checkEveryMin === 0);
  t.push(hinted
    ? { what: 'database-touching ticks in an idle hour (60 ticks)', goal: '<= 4 (60 before)', measured: `${hinted.dbTicks} (${hinted.statements} statements, ${hinted.turns} round trips)${every ? `; every tick querying: ${every.dbTicks} (${every.statements} statements)` : ''}`, met: hinted.dbTicks <= 4 }
    : none('database-touching ticks in an idle hour', '<= 4'));
  t.push(every
    ? { what: 'statements of an empty tick that queries', goal: '1', measured: fmt(every.statements / Math.max(1, every.dbTicks), 2), met: every.statements <= every.dbTicks }
    : none('statements of an empty tick that queries', '1'));
  t.push(idle
    ? { what: 'extra delay of a job enqueued mid-hour, kicks off', goal: `<= 1 tick + check period (${idle.boundTicks} min)`, measured: `${idle.behindBack.ticks} min behind the instance's back (no hint), ${idle.viaInstance.ticks} min through it`, met: idle.behindBack.ticks <= idle.boundTicks && idle.viaInstance.ticks <= 1 }
    : none('extra delay of a job enqueued mid-hour', '<= 1 tick + check period'));
  return t;
}

export function wakeLines(r: Results): string[] {
  const lines: string[] = [];
  const l = r.wakeLatency;
  if (l?.rows.length) {
    const sluice = l.rows.find((row) => row.system === 'sluice');
    const peer = fastestPeer(l.rows);
    lines.push('', `**Enqueue-to-start latency**, ${l.jobs} jobs per row enqueued one at a time (after ${l.warmup} warm-up jobs), each into an idle queue: the previous job done (for Sluice, its success written by the kick drain's last claim, which ends its pass), then ${l.gapMs} ms of quiet.`, '');
    lines.push('| system | woken by | p50 | p95 | p99 | max |', '| --- | --- | ---: | ---: | ---: | ---: |');
    for (const row of l.rows) lines.push(`| ${row.system} | ${row.wakeUp} | ${row.p50Ms} ms | ${row.p95Ms} ms | ${row.p99Ms} ms | ${row.maxMs} ms |`);
    lines.push('', `Sluice: from just before \`POST /api/jobs\` (over HTTP to \`npm run dev\` with its cron off, so only the kick after the 202 drains; at p50 the 202 took ${sluice?.enqueueP50Ms ?? '–'} ms and the webhook came ${sluice?.afterAnswerP50Ms ?? '–'} ms after it) to the send-welcome-email job's webhook POST reaching the bench. That includes the handler's own work before its POST (BEGIN, its sent_emails insert, the POST: ${l.handlerPreludeMs} ms at p50 replayed from the bench). The peers: from just before the add call, in the worker's own process, to the handler's first line; their workers run the whole time. \`npm run dev\` is a process too, but no drain runs in it between jobs.${sluice && peer ? ` Sluice / fastest always-on worker (${peer.system}): ${(sluice.p50Ms / peer.p50Ms).toFixed(1)}x at p50, ${(sluice.p99Ms / peer.p99Ms).toFixed(1)}x at p99.` : ''}`);
  }
  if (r.wakeBacklog) lines.push(...backlogLines(r.wakeBacklog, r.floor?.drainJobsPerSec));
  const i = r.wakeIdle;
  if (i) {
    lines.push('', `**Idle hour**: 60 cron ticks, one every ${i.tickMs} ms standing for a minute (SLUICE_IDLE_CHECK_MS scaled alike), against a fresh instance (empty hint: the first tick queries); Postgres traffic counted by a 0 ms relay. Compressed time keeps the pool's one connection open (pg closes idle ones after 10 s); in a real hour each check would also open a connection:`, '');
    lines.push('| SLUICE_IDLE_CHECK_MS | ticks that queried | statements | round trips | connections opened |', '| --- | ---: | ---: | ---: | ---: |');
    for (const row of i.rows) lines.push(`| ${row.checkEveryMin ? `${row.checkEveryMin} min (default)` : '0 (every tick queries)'} | ${row.dbTicks} | ${row.statements} | ${row.turns} | ${row.connections} |`);
    lines.push('', `A job enqueued mid-hour with kicks off starts ${i.viaInstance.ticks} ticks (simulated minutes) later when enqueued through the instance, whose enqueue writes the hint, and ${i.behindBack.ticks} later when inserted behind its back right after a tick that queried (the worst case: bounded by one tick plus the check period, ${i.boundTicks}). With kicks on (the default) the first case starts at once.`);
  }
  return lines;
}

/** `floor`: the SQL floor's claim + delete rate, when this run measured it: the row work's ceiling here. */
function backlogLines(b: WakeBacklog, floor: number | undefined): string[] {
  const one = b.rows.find((r) => r.fanout === 1);
  const lines = ['', `**Backlog**: ${fmt(b.jobs)} due jobs of ${b.jobMs} ms, drained by cron ticks (\`GET /api/cron/drain\`) through the bench app's HTTP server, time compressed: drains may last ${b.drainMaxMs / 1000} s (${(b.drainMaxMs - b.safetyMarginMs) / 1000} s of draining after the safety margin) and a tick comes every ${b.drainMaxMs / 1000} s, as a 60 s function under a per-minute cron. Fanned-out drains and continuations are real self-calls to \`/api/drain\`, but here they all share one Node process and one Postgres on this machine's ${b.cores} cores; on Vercel each is an instance of its own.`, ''];
  lines.push('| SLUICE_MAX_FANOUT | jobs/s | time | handlers at once (avg / peak) | ticks (fanned out) | self-called drains | app CPU / job | Postgres CPU / job | machine busy (all processes) |', '| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const r of b.rows) {
    const ticks = r.ticks.map((t) => t.fannedOut).join(', ');
    lines.push(`| ${r.fanout} | ${fmt(r.jobsPerSec)}${r.capped ? ' (capped)' : ''} | ${fmt(r.wallMs / 1000, 1)} s | ${fmt(r.avgHandlers, 1)} / ${r.peakHandlers} | ${r.ticks.length} (${ticks}) | ${r.drainCalls} | ${fmt(r.appCpuMs / r.jobs, 3)} ms | ${fmt(r.postgresCpuMs / r.jobs, 3)} ms | ${fmt(r.machineBusyMs / r.wallMs, 2)} of ${b.cores} cores |`);
  }
  lines.push('', `Fan-out 4 is **${b.speedup}x** fan-out 1. Fan-out 1 is not one drain throughout: each tick drains too, beside the previous drain's continuation, as the per-minute cron would; "handlers at once" / 10 is the number of drains at work.`);
  if (one) {
    // Per drain: what one drain did when it had the machine nearly to itself.
    const perDrain = one.jobsPerSec / Math.max(0.1, one.avgHandlers / 10);
    const pgMs = one.postgresCpuMs / one.jobs;
    const pgCeiling = pgMs > 0 ? (b.cores * 1000) / pgMs : Infinity;
    const cap = Math.min(pgCeiling, floor ?? Infinity);
    const capSays = floor !== undefined && floor < pgCeiling
      ? `the SQL floor above (${fmt(floor)} jobs/s of claim + delete on this Postgres) is the lower ceiling`
      : `its CPU alone caps a ${b.cores}-core database at about ${fmt(pgCeiling)} jobs/s (before I/O and locks: the floor scenario measures those)`;
    lines.push(`Model for more cores: one drain at work does about ${fmt(perDrain)} jobs/s here (ideal: 10 at once / ${b.jobMs} ms = 2,000), bound by its concurrency, not by CPU: the app spends ${fmt(one.appCpuMs / one.jobs, 3)} ms of CPU a job and Postgres ${fmt(pgMs, 3)} ms. On instances of their own (Vercel) drains add up until Postgres is the limit: ${capSays}. So N drains give about min(N x ${fmt(perDrain)}, ${fmt(cap)}) jobs/s, ${fmt(Math.min(4 * perDrain, cap))} for fan-out 4; here they shared ${b.cores} cores with each other, Postgres and the rest of the machine.`);
  }
  return lines;
}
