import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDir } from './services.js';
import { throughputSvg } from './chart.js';
import { bigtableFullSize, type Sizes } from './context.js';
import { bigtableLines } from './bigtable/report.js';
import type { Bigtable } from './scenarios/bigtable.js';
import type { ClaimRow } from './scenarios/claim.js';
import type { ColdRow } from './scenarios/cold.js';
import { KEPT_LABEL, type DrainRow } from './scenarios/drain.js';
import type { Retention } from './scenarios/retention.js';
import type { EnqueueRow } from './scenarios/enqueue.js';
import type { FloorRow } from './scenarios/floor.js';
import type { Fairness } from './scenarios/fairness.js';
import type { Flow } from './scenarios/flow.js';
import type { WakeBacklog } from './scenarios/wake-backlog.js';
import type { WakeIdle } from './scenarios/wake-idle.js';
import type { WakeLatency } from './scenarios/wake-latency.js';
import type { Workflow } from './scenarios/workflow.js';
import { fairnessLines } from './fairness/report.js';
import { flowLines } from './flow/report.js';
import { wakeLines, wakeTargets } from './wake/report.js';
import { workflowLines, workflowTargets } from './workflow/report.js';

export interface Results {
  date: string;
  mode: 'full' | 'quick';
  /** Run with --scenarios or --systems: never written over docs/performance.md. */
  partial: boolean;
  durationSec: number;
  machine: Record<string, unknown>;
  sluice: { version: string; commit: string; engineUncommitted: boolean };
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  sizes: Sizes;
  skipped: Record<string, string>;
  throughput?: DrainRow[];
  enqueue?: EnqueueRow[];
  claim?: ClaimRow[];
  cold?: ColdRow[];
  memory?: DrainRow;
  floor?: FloorRow;
  wakeLatency?: WakeLatency;
  wakeBacklog?: WakeBacklog;
  wakeIdle?: WakeIdle;
  flow?: Flow;
  fairness?: Fairness;
  workflow?: Workflow;
  bigtable?: Bigtable;
  retention?: Retention;
  targets?: Target[];
}

export interface Target { what: string; goal: string; measured: string; met: boolean | null }

const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '–' : x.toLocaleString('en', { maximumFractionDigits: digits }));
const ratio = (a: number, b: number) => (b > 0 ? a / b : Infinity);

/** The issue's targets, each with the figure this run measured (null: not measured in this run). */
export function targets(r: Results): Target[] {
  const t: Target[] = [];
  const at = (rtt: number | null) => (r.throughput ?? []).filter((row) => row.rttMs === rtt);
  const versus = (rtt: number | null, goal: number, what: string) => {
    const rows = at(rtt);
    const sluice = rows.find((row) => row.label === 'sluice');
    const peers = rows.filter((row) => row.system !== 'sluice');
    if (!sluice || peers.length === 0) return t.push({ what, goal: `>= ${goal}x`, measured: 'not measured', met: null });
    const best = peers.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
    const x = ratio(sluice.jobsPerSec, best.jobsPerSec);
    t.push({ what, goal: `>= ${goal}x the fastest peer`, measured: `${x.toFixed(2)}x (${fmt(sluice.jobsPerSec)} vs ${best.system} ${fmt(best.jobsPerSec)} jobs/s)`, met: x >= goal });
  };
  versus(null, 2, 'drain throughput, local Postgres');
  versus(10, 10, 'drain throughput at 10 ms round trip');
  for (const rtt of [null, 10]) {
    const [plain, kept] = ['sluice', KEPT_LABEL].map((label) => at(rtt).find((row) => row.label === label));
    const what = `drain with completed runs kept vs deleted, ${rtt === null ? 'local' : `${rtt} ms RTT`}`;
    if (!plain || !kept) t.push({ what, goal: '>= 0.85x', measured: 'not measured', met: null });
    else {
      const x = ratio(kept.jobsPerSec, plain.jobsPerSec);
      t.push({ what, goal: '>= 0.85x', measured: `${x.toFixed(2)}x (${fmt(kept.jobsPerSec)} vs ${fmt(plain.jobsPerSec)} jobs/s)`, met: x >= 0.85 });
    }
  }

  const counted = (r.throughput ?? []).find((row) => row.label === 'sluice (counting relay, 0 ms)');
  const at10 = at(10).find((row) => row.label === 'sluice');
  t.push(counted
    ? { what: 'statements per job during a drain (defaults)', goal: '<= 0.03', measured: `${counted.statementsPerJob} locally${at10 ? `, ${at10.statementsPerJob} at 10 ms` : ''}`, met: counted.statementsPerJob! <= 0.03 && (!at10 || at10.statementsPerJob! <= 0.03) }
    : { what: 'statements per job during a drain (defaults)', goal: '<= 0.03', measured: 'not measured', met: null });

  const dead = (r.claim ?? []).filter((row) => row.case.endsWith('dead rows'));
  if (dead.length >= 2) {
    const [few, many] = [dead[0]!, dead.at(-1)!];
    const x = ratio(many.medianMs, few.medianMs);
    t.push({ what: `claim latency, ${fmt(many.otherRows)} dead rows vs ${fmt(few.otherRows)}`, goal: '<= 1.2x', measured: `${x.toFixed(2)}x (median ${many.medianMs} vs ${few.medianMs} ms)`, met: x <= 1.2 });
  } else t.push({ what: 'claim latency, 1M dead rows vs 1k', goal: '<= 1.2x', measured: 'not measured', met: null });

  const enq = r.enqueue ?? [];
  const mine = enq.find((row) => row.system === 'sluice');
  const peers = enq.filter((row) => row.system !== 'sluice');
  const bulk = (what: string, rate: (row: EnqueueRow) => number) => {
    if (!mine || peers.length === 0) return t.push({ what, goal: '>= 1.5x', measured: 'not measured', met: null });
    const best = peers.reduce((a, b) => (rate(b) > rate(a) ? b : a));
    const x = ratio(rate(mine), rate(best));
    t.push({ what, goal: ">= 1.5x the fastest peer's bulk insert", measured: `${x.toFixed(2)}x (${fmt(rate(mine))} vs ${best.system} ${fmt(rate(best))} jobs/s)`, met: x >= 1.5 });
  };
  bulk(`enqueueMany, ${fmt(mine?.bulkJobs ?? r.sizes.bulkJobs)} jobs`, (row) => row.bulkJobsPerSec);
  bulk(`enqueueMany, ${fmt(mine?.warmJobs ?? 1_000)} jobs per call, warm process`, (row) => row.warmJobsPerSec);

  if (r.cold?.length) {
    // Judged on the worse of what the relay counted and what the clock says, per driver.
    const worst = Math.max(...r.cold.map((c) => Math.max(c.roundTripsAtFirstJob, c.firstJobRtts)));
    const each = r.cold.map((c) => `${c.driver} ${c.roundTripsAtFirstJob} counted / ${c.firstJobRtts} by the clock`).join('; ');
    t.push({ what: `cold drain at ${r.cold[0]!.rttMs} ms, first job run`, goal: '<= 8 round trips', measured: each, met: worst <= 8 });
  } else t.push({ what: 'cold drain at 20 ms', goal: '<= 8 round trips', measured: 'not measured', met: null });

  t.push(r.memory
    ? { what: `peak memory draining ${fmt(r.memory.jobs)} jobs`, goal: '<= 150 MB', measured: `${r.memory.maxRssMb} MB max RSS (${r.memory.baseRssMb} MB after imports)`, met: r.memory.maxRssMb <= 150 }
    : { what: 'peak memory draining 100,000 jobs', goal: '<= 150 MB', measured: 'not measured', met: null });
  t.push(...wakeTargets(r));
  t.push(...workflowTargets(r));
  return t;
}

/** The SQL floor, and Sluice's local drain (defaults) as a share of it when this run measured both. */
function floorLines(f: FloorRow, throughput: DrainRow[] | undefined): string[] {
  const drain = throughput?.find((row) => row.label === 'sluice' && row.rttMs === null);
  const share = drain
    ? `Sluice drain = **${Math.round((drain.jobsPerSec / f.drainJobsPerSec) * 100)} % of the SQL floor** (${fmt(drain.jobsPerSec)} vs ${fmt(f.drainJobsPerSec)} jobs/s).`
    : 'Sluice drain: not measured in this run.';
  return [
    `**The floor**: the drain's row work as plain SQL, no queue logic: ${fmt(f.jobs)} rows in a copy of sluice.jobs (same columns, checks and indexes), inserted, claimed (the claim's UPDATE: index walk, row locks, lease columns) and deleted, ${fmt(f.batch)} per statement, one statement after another on one connection, each its own commit; best of ${f.runs.length}. ${share}`,
    '',
    '| insert | claim update | delete | claim + delete (a drain\'s share) | whole cycle |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(f.insertJobsPerSec)} jobs/s | ${fmt(f.claimJobsPerSec)} jobs/s | ${fmt(f.deleteJobsPerSec)} jobs/s | ${fmt(f.drainJobsPerSec)} jobs/s | ${fmt(f.cycleJobsPerSec)} jobs/s |`,
  ];
}

/** When, where and what was measured: the first lines of every report. */
function headerLines(r: Results): string[] {
  const m = r.machine as { cpu: string; cores: number; memoryGb: number; os: string; node: string };
  const pgs = r.settings.postgres as { version: string };
  const redis = r.settings.redis as { version: string } | null;
  const lines = [
    `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC (${r.mode} run, ${r.durationSec} s) on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}.`,
    `Postgres ${pgs.version} (embedded, fsync and synchronous_commit on)${redis ? `, Redis ${redis.version} (AOF, fsync every second)` : ''}.`,
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; Sluice at ${r.sluice.commit}${r.sluice.engineUncommitted ? ' with uncommitted engine changes' : ''}.`,
  ];
  for (const [name, why] of Object.entries(r.skipped)) lines.push('', `**${name} skipped:** ${why}.`);
  return lines;
}

export function markdown(r: Results): string {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(...headerLines(r));

  push('', '| target | goal | measured | met |', '| --- | --- | --- | --- |');
  for (const t of r.targets ?? []) push(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);

  if (r.throughput?.length) {
    const rtts = [...new Set(r.throughput.filter((x) => x.rttMs !== 0).map((x) => x.rttMs))];
    const labels = [...new Set(r.throughput.filter((x) => x.rttMs !== 0).map((x) => x.label))];
    const cols = rtts.map((x) => (x === null ? 'local' : `${x} ms RTT`));
    push('', `**Drain throughput**, jobs/s, ${fmt(r.sizes.drainJobs)} no-op jobs drained by one process, best of ${r.sizes.repeats} (statements / client round trips per job, counted by the relay):`, '');
    push(`| system | ${cols.join(' | ')} | peak RSS (tsx) |`, `| --- | ${cols.map(() => '---:').join(' | ')} | ---: |`);
    for (const label of labels) {
      const cells = rtts.map((rtt) => {
        const row = r.throughput!.find((x) => x.label === label && x.rttMs === rtt);
        if (!row) return '–';
        const counted = row.statementsPerJob !== undefined ? ` (${row.statementsPerJob} / ${row.turnsPerJob})` : '';
        return `${fmt(row.jobsPerSec)}${row.capped ? ' (capped)' : ''}${counted}`;
      });
      const rss = Math.max(...r.throughput.filter((x) => x.label === label).map((x) => x.maxRssMb));
      push(`| ${label} | ${cells.join(' | ')} | ${rss} MB |`);
    }
    const zero = r.throughput.find((x) => x.rttMs === 0);
    if (zero) push('', `Sluice through a 0 ms counting relay: ${fmt(zero.jobsPerSec)} jobs/s, ${zero.statements} statements for ${fmt(zero.completed)} jobs (${zero.statementsPerJob}/job), ${zero.turns} round trips.`);
  }
  if (r.enqueue?.length) {
    const warm = r.enqueue[0]!;
    push('', `**Enqueue**, locally: one bulk call of ${fmt(r.sizes.bulkJobs)} jobs in a fresh process (best of ${r.sizes.bulkRepeats}); a call of ${fmt(warm.warmJobs)} (the HTTP API's limit) in a process that has made one such call already (median of ${warm.warmRuns.length} processes); and ${fmt(r.sizes.singleJobs)} single enqueues one after another:`, '');
    push(`| system | bulk call | bulk jobs/s | ${fmt(warm.warmJobs)} per call, warm | warm jobs/s | single enqueue | single jobs/s |`, '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    const names: Record<string, string> = { sluice: 'enqueueMany', 'pg-boss': 'insert', 'graphile-worker': 'addJobs', bullmq: 'addBulk' };
    for (const e of r.enqueue) push(`| ${e.system} (${names[e.system]}) | ${fmt(e.bulkMs)} ms | ${fmt(e.bulkJobsPerSec)} | ${fmt(e.warmMs, 1)} ms | ${fmt(e.warmJobsPerSec)} | ${e.singleMsEach} ms | ${fmt(e.singleJobsPerSec)} |`);
  }
  if (r.claim?.length) {
    push('', `**Claim latency** (Sluice, claim of ${r.claim[0]!.limit} jobs, ${r.claim[0]!.samples} samples after a first one):`, '');
    push('| table holds | median | p95 | first claim | server time (EXPLAIN ANALYZE) | a tick\'s once-a-minute claim (sample, retention, alerts) |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const c of r.claim) push(`| ${c.case} | ${c.medianMs} ms | ${c.p95Ms} ms | ${c.firstMs} ms | ${c.explainMs} ms | ${c.housekeepingMs ?? '-'} ms |`);
  }
  if (r.cold?.length) {
    push('', '**Cold drain** (Sluice, new process, one job in the table; round trips counted by the relay, and elapsed time / RTT):', '');
    push('| driver | RTT | first job run | round trips counted | as RTTs | drain returned | as RTTs |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of r.cold) push(`| ${c.driver} | ${c.rttMs} ms | ${c.firstJobMs} ms | ${c.roundTripsAtFirstJob} | ${c.firstJobRtts} | ${c.doneMs} ms | ${c.doneRtts} |`);
  }
  if (r.memory) push('', `**Peak memory**: a Sluice drain of ${fmt(r.memory.jobs)} jobs (${fmt(r.memory.jobsPerSec)} jobs/s) in plain Node peaked at ${r.memory.maxRssMb} MB RSS; the process held ${r.memory.baseRssMb} MB after loading its modules. (The throughput rows run under tsx, whose loader adds about 35 MB.)`);
  if (r.floor) push('', ...floorLines(r.floor, r.throughput));
  if (r.retention) {
    const k = r.retention;
    const kept = r.throughput?.find((x) => x.label === KEPT_LABEL && x.rttMs === null);
    push('', `**Completed runs kept** (the run history): ${fmt(k.runs)} no-op runs kept took ${k.mbPerMillion.table} MB of table and ${k.mbPerMillion.indexes} MB of indexes per million runs. A local drain of ${fmt(k.pruning.jobs)} jobs ran at ${fmt(k.pruning.jobsPerSec)} jobs/s while the retention pruning deleted ${fmt(k.pruned)} old runs beside it (${fmt(k.prunedPerSec)} runs/s)${kept ? `, against ${fmt(kept.jobsPerSec)} jobs/s with no pruning` : ''}.`);
  }
  push(...wakeLines(r));
  if (r.flow) push(...flowLines(r.flow));
  if (r.fairness) push(...fairnessLines(r.fairness));
  if (r.workflow) push(...workflowLines(r.workflow));
  if (r.bigtable) push(...bigtableLines(r.bigtable));
  push('', '<details><summary>Settings of every system</summary>', '');
  for (const [name, s] of Object.entries(r.settings)) push(`- ${name}: \`${JSON.stringify(s)}\``);
  push('', '</details>');
  return lines.join('\n') + '\n';
}

const PAGE_START = '<!-- bench:start -->';
const PAGE_END = '<!-- bench:end -->';

/**
 * Writes <date>.json (a day's second full run: <date>-<HHMM>.json, its UTC start), latest.md and
 * throughput.svg; a full run also refreshes the measured part of docs/performance.md. Quick runs write
 * under results/quick/ and partial ones under results/partial/, so the committed results/ only ever
 * holds complete full runs.
 */
export function writeReports(r: Results): string[] {
  r.targets = targets(r);
  const sub = r.mode === 'quick' ? 'quick/' : r.partial ? 'partial/' : '';
  const dir = fileURLToPath(new URL(`./results/${sub}`, import.meta.url));
  ensureDir(dir);
  const day = r.date.slice(0, 10);
  // A second full run on one day keeps the first's results: its own name carries its UTC time.
  const again = sub === '' && existsSync(`${dir}${day}.json`);
  const name = r.partial ? `${day}-partial` : again ? `${day}-${r.date.slice(11, 16).replace(':', '')}` : day;
  const md = markdown(r);
  writeFileSync(`${dir}${name}.json`, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(`${dir}latest.md`, md);
  const written = [`${dir}${name}.json`, `${dir}latest.md`];
  if (r.throughput?.length) {
    writeFileSync(`${dir}throughput.svg`, throughputSvg(r.throughput, r.date.slice(0, 10)));
    written.push(`${dir}throughput.svg`);
  }
  if (r.bigtable) written.push(...writeBigtable(r, r.bigtable));
  if (r.mode === 'full' && !r.partial) {
    const page = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
    const text = readFileSync(page, 'utf8');
    const [before, rest] = text.split(PAGE_START);
    const after = rest?.split(PAGE_END)[1];
    if (before !== undefined && after !== undefined) {
      writeFileSync(page, `${before}${PAGE_START}\n![Drain throughput against round-trip time](../bench/results/throughput.svg)\n\n${md}${PAGE_END}${after}`);
      written.push(page);
    }
  }
  return written;
}

/**
 * The big-table scenario's own files, bigtable-<date>.json and bigtable-latest.md: in results/ for a
 * run at the issue's size (10M rows), beside the quick or partial results otherwise. The suite's
 * latest.md and docs/performance.md are never written by it.
 */
function writeBigtable(r: Results, b: Bigtable): string[] {
  const sub = r.mode === 'quick' ? 'quick/' : bigtableFullSize(r.sizes, false) ? '' : 'partial/';
  const dir = fileURLToPath(new URL(`./results/${sub}`, import.meta.url));
  ensureDir(dir);
  const { date, mode, durationSec, machine, sluice, versions, settings, skipped } = r;
  const json = `${dir}bigtable-${date.slice(0, 10)}.json`;
  writeFileSync(json, JSON.stringify({ date, mode, durationSec, machine, sluice, versions, settings, skipped, bigtable: b }, null, 2) + '\n');
  writeFileSync(`${dir}bigtable-latest.md`, [...headerLines(r), ...bigtableLines(b)].join('\n') + '\n');
  return [json, `${dir}bigtable-latest.md`];
}
