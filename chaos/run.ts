/**
 * npm run chaos: Sluice's own fault suite (issue 11). Four drain processes work through a stream of
 * jobs (fast, flaky, poison, timing out, multi-step) while faults are injected for CHAOS_SECONDS
 * (default 90): SIGKILLs of drains, pg_terminate_backend of their connections, Postgres restarts, a
 * drain frozen past its leases (SIGSTOP), a backend stalled mid-statement, the jobs table locked as a
 * migration would. Then a clean drain empties the queue and the invariants are checked; figures are
 * printed, and any broken invariant fails the run (exit code 1).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { connect, drain, enqueueMany, migrate } from '../lib/queue/index.js';
import { startLocalPostgres } from '../scripts/local-postgres.js';
import { deadlineOverruns, parseLogs, repeats } from './check.js';
import { type Fault, type FaultKind, injectors } from './faults.js';
import { CHAOS_JOBS, flakyJob, logRunsTo, okJob, POISON_ATTEMPTS, poisonJob, slowJob, stepsJob } from './jobs.js';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 90);
const DRAINERS = 4;
const LEASE_GRACE_MS = 2_000;
/** Mean time between faults of each kind, ms (the repeated ones), and the one-off ones' times. */
const EVERY: Partial<Record<FaultKind, number>> = { kill: 1_000, terminate: 500 };
const AT: [FaultKind, number][] = [['restart', 0.25], ['stop', 0.35], ['stall', 0.45], ['lock', 0.55], ['restart', 0.65], ['stall', 0.75], ['stop', 0.8], ['lock', 0.85]];

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
chmodSync(dir, 0o777); // Postgres runs as `postgres` when we are root
const server = await startLocalPostgres({ dataDir: join(dir, 'data'), persistent: true, settings: { max_connections: '300' } });
const setup = new pg.Client({ connectionString: server.url });
await setup.connect();
await setup.query('create database chaos');
await setup.end();
const url = new URL(server.url);
url.pathname = '/chaos';
const conn = connect(url.toString(), { driver: 'pg' });
const select = async <T>(query: ReturnType<typeof sql>) => ((await conn.db.execute(query)) as unknown as { rows: T[] }).rows;
await migrate(conn.db);
await conn.db.execute(sql`create table chaos_effects (job_id uuid not null, step text not null, at timestamptz not null default now())`);
say(`Postgres on port ${server.port}; ${DRAINERS} drain processes, ${SECONDS} s of faults, lease grace ${LEASE_GRACE_MS} ms`);

// ------------------------------------------------------------------------------------ the jobs
const seeded = new Map<string, string>(); // id -> type
let batch = 0;
async function feed(count: number): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => {
    const n = batch * 1_000 + i;
    const r = Math.random();
    if (r < 0.5) return { job: okJob, payload: { n } };
    if (r < 0.7) return { job: flakyJob, payload: { n } };
    if (r < 0.8) return { job: slowJob, payload: { n } };
    if (r < 0.95) return { job: stepsJob, payload: { n, steps: 3 + Math.floor(Math.random() * 3) } };
    return { job: poisonJob, payload: { n } };
  });
  batch++;
  try {
    const { ids } = await enqueueMany(conn.db, items);
    ids.forEach((id, i) => seeded.set(id, items[i]!.job.type));
  } catch {
    // The database is restarting or locked: this batch is simply not sent (its ids are not counted).
  }
}

// ------------------------------------------------------------------------------- the drainers
const stopFile = join(dir, 'stop');
const live = new Set<ChildProcess>();
let stopping = false;
function startDrainer(slot: number): void {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./drainer.ts', import.meta.url).pathname,
    url.toString(), join(dir, `runs-${slot}-${Date.now()}.log`), stopFile, String(LEASE_GRACE_MS)], { stdio: ['ignore', 'ignore', 'inherit'] });
  live.add(child);
  child.on('exit', () => {
    live.delete(child);
    if (!stopping) setTimeout(() => startDrainer(slot), 100); // a supervisor restarts what died
  });
}

// ---------------------------------------------------------------------------------- the faults
let admin = new pg.Client({ connectionString: url.toString() });
admin.on('error', () => {});
await admin.connect();
/** Settles with `work`, or after `ms` whatever it does (a socket to a stopped backend may never close). */
const within = (work: Promise<unknown>, ms: number) => Promise.race([work.catch(() => {}), sleep(ms)]);
const reconnectAdmin = async () => {
  await within(admin.end(), 2_000);
  for (;;) {
    admin = new pg.Client({ connectionString: url.toString() });
    admin.on('error', () => {});
    try {
      await admin.connect();
      return;
    } catch {
      await sleep(200);
    }
  }
};
const faults: Fault[] = [];
const failedFaults: string[] = [];
const inject = injectors({
  drainers: () => [...live],
  admin: () => admin,
  url: url.toString(),
  restartPostgres: async () => { await server.restart(); await reconnectAdmin(); },
  leaseGraceMs: LEASE_GRACE_MS,
}, 'chaos');
// A fault that cannot be injected (its target died meanwhile) is counted, not fatal; none may hang the suite.
// A fault that failed part way is kept (as striking every drain over its time: it may have), never fatal.
const run = (kind: FaultKind) => {
  const from = Date.now();
  return Promise.race([inject[kind](), sleep(60_000).then(() => { throw new Error('did not finish in 60 s'); })])
    .then((f) => { if (f) faults.push(f); })
    .catch(async (error: unknown) => {
      const why = (error as Error | undefined)?.message ?? String(error);
      failedFaults.push(`${kind}: ${why}`);
      faults.push({ kind, pid: null, from, to: Date.now(), failed: why });
      await reconnectAdmin();
    });
};

await feed(2_000);
for (let slot = 0; slot < DRAINERS; slot++) startDrainer(slot);
const timers: NodeJS.Timeout[] = [setInterval(() => void feed(150), 1_000)];
const pending: Promise<unknown>[] = [];
for (const [kind, every] of Object.entries(EVERY) as [FaultKind, number][]) {
  // Jittered around the mean, so faults do not fall into step with the drains' passes.
  const next = () => timers.push(setTimeout(() => { pending.push(run(kind)); next(); }, every * (0.5 + Math.random())));
  next();
}
for (const [kind, at] of AT) timers.push(setTimeout(() => pending.push(run(kind)), at * SECONDS * 1_000));
const progress = setInterval(() => say(`${seeded.size} jobs enqueued, ${faults.length} faults so far`), 15_000);
await sleep(SECONDS * 1_000);
timers.forEach(clearTimeout);
// Each fault is raced against 60 s and its clean-up bounded, so this ends; the bound here is the last guard
// against a fault that never settles, which would otherwise hang the suite rather than fail it.
const unsettled = await Promise.race([Promise.all(pending).then(() => false), sleep(120_000).then(() => true)]);
if (unsettled) failedFaults.push('a fault did not settle within 120 s of the end (its clean-up hung)');
say(`faults over: ${faults.length} injected${failedFaults.length ? `, not injected: ${failedFaults.join('; ')}` : ''}`);

// ------------------------------------------------------------------- stop, then a clean drain
stopping = true;
writeFileSync(stopFile, '');
const exited = Promise.all([...live].map((c) => new Promise((r) => c.on('exit', r))));
await Promise.race([exited, sleep(15_000)]);
for (const c of live) c.kill('SIGKILL');
const cleanStart = Date.now();
logRunsTo(join(dir, 'runs-clean.log'));
for (;;) {
  await drain(conn.db, CHAOS_JOBS, { budgetMs: 5_000, leaseGraceMs: LEASE_GRACE_MS });
  const [left] = await select<{ n: number }>(sql`select count(*)::int as n from sluice.jobs where status <> 'dead'`);
  if (left!.n === 0 || Date.now() - cleanStart > 180_000) break;
  await sleep(100); // backoffs (at most 1 s) and leases (2 s grace) still running out
}
clearInterval(progress);
const cleanMs = Date.now() - cleanStart;

// --------------------------------------------------------------------------------- the checks
const lines = readdirSync(dir).filter((f) => f.startsWith('runs-')).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
const { runs, passes } = parseLogs(lines);
const rows = await select<{ id: string; type: string; status: string; attempts: number }>(sql`select id, type, status, attempts from sluice.jobs`);
const inTable = new Map(rows.map((r) => [r.id, r]));
const succeeded = (id: string) => runs.get(id)?.some((r) => r.end?.outcome === 'ok') ?? false;
const lost = [...seeded.keys()].filter((id) => !inTable.has(id) && !succeeded(id));
const stuck = rows.filter((r) => r.status !== 'dead');
const poison = [...seeded].filter(([, type]) => type === poisonJob.type).map(([id]) => inTable.get(id));
const badPoison = poison.filter((r) => r?.status !== 'dead' || r.attempts !== POISON_ATTEMPTS);
const deadOthers = rows.filter((r) => r.status === 'dead' && r.type !== poisonJob.type);
const effects = await select<{ job_id: string; step: string; n: number }>(sql`select job_id, step, count(*)::int as n from chaos_effects group by 1, 2`);
const repeatedEffects = effects.filter((e) => e.n > 1);
// A job starts at the latest a lease grace after its claim (or its last renewal), or goes back.
const rep = repeats(runs, faults, LEASE_GRACE_MS);
const overruns = deadlineOverruns(passes, faults);
const maxOverrun = Math.max(0, ...overruns);
const count = (kind: FaultKind) => faults.filter((f) => f.kind === kind).length;
const totalRuns = [...runs.values()].reduce((n, l) => n + l.length, 0);

const checks: [string, boolean][] = [
  [`no job lost (${lost.length} lost of ${seeded.size})`, lost.length === 0],
  [`none stuck: only dead jobs left after the clean drain (${stuck.length} not dead)`, stuck.length === 0],
  [`poison jobs dead after exactly ${POISON_ATTEMPTS} attempts (${poison.length - badPoison.length} of ${poison.length})`, badPoison.length === 0],
  [`no other job dead (${deadOthers.length})`, deadOthers.length === 0],
  [`every repeated run follows an injected fault (${rep.total - rep.unexplained.length} of ${rep.total} explained)`, rep.unexplained.length === 0],
  [`no step's effect repeated (${repeatedEffects.length} repeated, ${effects.length} effects)`, repeatedEffects.length === 0],
  [`no drain past its deadline by more than 1 s (worst ${maxOverrun} ms over ${overruns.length} passes)`, maxOverrun <= 1_000],
  [`at least 60 SIGKILLs and 100 terminated connections (${count('kill')}, ${count('terminate')})`, count('kill') >= 60 && count('terminate') >= 100],
];
console.log('\nFigures');
console.log(`  jobs: ${seeded.size} enqueued (${[...new Set(seeded.values())].map((t) => `${t} ${[...seeded.values()].filter((v) => v === t).length}`).join(', ')})`);
console.log(`  runs: ${totalRuns}; repeated runs after a fault: ${rep.total} (${Object.entries(rep.explainedBy).map(([k, v]) => `${k} ${v}`).join(', ')})`);
console.log(`  faults: ${(['kill', 'terminate', 'restart', 'stop', 'stall', 'lock'] as const).map((k) => `${k} ${count(k)}`).join(', ')}`);
console.log(`  drain passes: ${passes.length} (${passes.filter((p) => !p.ok).length} ended early by a database unreachable until their stop time); worst overrun ${maxOverrun} ms`);
console.log(`  clean drain to empty: ${(cleanMs / 1000).toFixed(1)} s; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log('\nInvariants');
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
for (const u of rep.unexplained.slice(0, 5)) {
  console.log(`    unexplained: job ${u.id} (${u.first.type}) run at ${u.first.start} (pid ${u.first.pid}, ended ${JSON.stringify(u.first.end ?? null)}) again at ${u.again.start} (pid ${u.again.pid})`);
  const near = faults.filter((f) => f.to >= u.first.start - 5_000 && f.from <= u.again.start + 1_000);
  console.log(`      faults near: ${near.map((f) => `${f.kind}@${f.from}-${f.to} pid ${f.pid}`).join(', ')}`);
}
for (const id of lost.slice(0, 5)) console.log(`    lost: ${id}`);

await conn.close();
await within(admin.end(), 2_000);
await server.stop();
const passed = checks.every(([, ok]) => ok);
// A failed run keeps its logs for a look; the data directory goes either way.
rmSync(join(dir, 'data'), { recursive: true, force: true });
if (passed) rmSync(dir, { recursive: true, force: true });
else console.log(`\nrun logs kept in ${dir}`);
process.exit(passed ? 0 : 1);
