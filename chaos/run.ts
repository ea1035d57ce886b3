/**
 * npm run chaos: Sluice's own fault suite (issue 11). Four drain processes work through a stream of
 * jobs (fast, flaky, poison, timing out, multi-step, and workflows: parents invoking children, some
 * of them cancelled, and jobs waiting for events the load sends) while faults are injected for CHAOS_SECONDS
 * (default 90): SIGKILLs of drains, pg_terminate_backend of their connections, Postgres restarts, a
 * drain frozen past its leases (SIGSTOP), a backend stalled mid-statement, the jobs table locked as a
 * migration would. Then a clean drain settles every job and the invariants are checked; figures are
 * printed, and any broken invariant fails the run (exit code 1).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, openSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { build } from 'esbuild';
import pg from 'pg';
import { connect, drain, enqueueMany, migrate } from '../lib/queue/index.js';
import { startLocalPostgres } from '../scripts/local-postgres.js';
import { deadlineOverruns, parseLogs, repeats } from './check.js';
import { type Fault, type FaultKind, injectors } from './faults.js';
import { checkFlows, type EventRow, failingChild, type JobRow, tally } from './flow-check.js';
import { type FeedItem, FlowLoad } from './flow-load.js';
import { CHAOS_JOBS, CHAOS_TICK, flakyJob, logRunsTo, okJob, POISON_ATTEMPTS, poisonJob, slowJob, stepsJob } from './jobs.js';
import { watchLongTransactions } from './watch.js';
import { CHAOS_EVENT } from './workflows.js';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 90);
const DRAINERS = 4;
const LEASE_GRACE_MS = 2_000;
const CLEAN_LEASE_GRACE_MS = 10_000;
/** Mean time between faults of each kind, ms (the repeated ones), and the one-off ones' times. */
const EVERY: Partial<Record<FaultKind, number>> = { kill: 1_000, terminate: 500 };
const AT: [FaultKind, number][] = [['restart', 0.25], ['stop', 0.35], ['stall', 0.45], ['lock', 0.55], ['restart', 0.65], ['stall', 0.75], ['stop', 0.8], ['lock', 0.85]];

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
chmodSync(dir, 0o777); // Postgres runs as `postgres` when we are root
/** The suite's own log, with the runs': each fault as it begins and ends, each drain process's start and exit. */
const note = (line: string) => appendFileSync(join(dir, 'suite.log'), `${line} ${Date.now()}\n`);
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
const flows = new FlowLoad(conn.db);
let batch = 0;
async function feed(count: number): Promise<void> {
  const items: FeedItem[] = Array.from({ length: count }, (_, i) => {
    const n = batch * 1_000 + i;
    const r = Math.random();
    if (r < 0.45) return { job: okJob, payload: { n } };
    if (r < 0.63) return { job: flakyJob, payload: { n } };
    if (r < 0.72) return { job: slowJob, payload: { n } };
    if (r < 0.85) return { job: stepsJob, payload: { n, steps: 3 + Math.floor(Math.random() * 3) } };
    if (r < 0.9) return { job: poisonJob, payload: { n } };
    return flows.item(n); // a parent, or a job waiting for events
  });
  batch++;
  try {
    const { ids } = await enqueueMany(conn.db, items);
    ids.forEach((id, i) => seeded.set(id, items[i]!.job.type));
    flows.follow(items, ids);
  } catch {
    // The database is restarting or locked: this batch is simply not sent (its ids are not counted).
    // It may have committed all the same: its waiters' events are sent.
    flows.follow(items, undefined);
  }
}

// ------------------------------------------------------------------------------- the drainers
const stopFile = join(dir, 'stop');
// The drain processes run one bundled file: loaded through tsx, each spent seconds of CPU on its modules,
// and with a SIGKILL a second the restarts alone kept 2 cores busy and the drains mostly starting up.
// esbuild is tsx's own bundler.
const drainerFile = join(dir, 'drainer.mjs');
await build({
  entryPoints: [new URL('./drainer.ts', import.meta.url).pathname], outfile: drainerFile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['pg-native'], banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" }, logLevel: 'error',
});
const live = new Set<ChildProcess>();
let stopping = false;
function startDrainer(slot: number): void {
  const stderr = openSync(join(dir, `stderr-${slot}.log`), 'a');
  const child = spawn(process.execPath, [drainerFile, url.toString(), join(dir, `runs-${slot}-${Date.now()}.log`), stopFile, String(LEASE_GRACE_MS)],
    // stderr to a file, not the suite's: a drain outliving the suite (a SIGSTOPped one, a stray child)
    // must not hold the suite's output open, or whatever reads it (CI's pipe) waits for it forever.
    { stdio: ['ignore', 'ignore', stderr] });
  closeSync(stderr); // the child has its own copy
  live.add(child);
  note(`spawned ${slot} ${child.pid}`);
  child.on('exit', (code, signal) => {
    note(`exited ${slot} ${child.pid} ${code ?? signal}`);
    live.delete(child);
    if (!stopping) setTimeout(() => startDrainer(slot), 100); // a supervisor restarts what died
  });
}

// ---------------------------------------------------------------------------------- the faults
// Bounded: a connect or a query to a server restarting (or a stopped backend) must not hang a fault.
const adminClient = () => {
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000, query_timeout: 20_000 });
  client.on('error', () => {});
  return client;
};
let admin = adminClient();
await admin.connect();
/** Settles with `work`, or after `ms` whatever it does (a socket to a stopped backend may never close). */
const within = (work: Promise<unknown>, ms: number) => Promise.race([work.catch(() => {}), sleep(ms)]);
// One reconnect at a time, shared by the faults that failed together (a restart cuts several): a second
// one ending the client the first is connecting would leave that connect hanging, and the suite with it.
let reconnecting: Promise<void> | undefined;
const reconnectAdmin = () => (reconnecting ??= (async () => {
  await within(admin.end(), 2_000);
  for (;;) {
    const client = adminClient();
    try {
      await client.connect();
      admin = client;
      return;
    } catch {
      await within(client.end(), 2_000);
      await sleep(200);
    }
  }
})().finally(() => (reconnecting = undefined)));
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
  note(`begin ${kind}`);
  return Promise.race([inject[kind](), sleep(60_000).then(() => { throw new Error('did not finish in 60 s'); })])
    .then((f) => { if (f) faults.push(f); note(`end ${kind} ${from} ${JSON.stringify(f)}`); })
    .catch(async (error: unknown) => {
      const why = (error as Error | undefined)?.message ?? String(error);
      failedFaults.push(`${kind}: ${why}`);
      faults.push({ kind, pid: null, from, to: Date.now(), failed: why });
      note(`failed ${kind} ${from} ${why}`);
      await reconnectAdmin();
      note(`reconnected ${kind} ${from}`);
    });
};

await feed(2_000);
const stopWatching = watchLongTransactions(url.toString(), note);
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
await flows.settled(); // the last events sent, the last cancels answered
const cleanStart = Date.now();
logRunsTo(join(dir, 'runs-clean.log'));
for (;;) {
  // Waits whose timeout passed are made due by the tick's housekeeping, once a minute: the next minute is
  // not waited for (its sample of the queue is what marks the minute done).
  const [due] = await select<{ n: number }>(sql`select count(*)::int as n from sluice.jobs where status = 'waiting' and run_after <= now()`);
  if (due!.n > 0) await conn.db.execute(sql`delete from sluice.queue_samples where minute = date_trunc('minute', now())`);
  // Its own leases are longer than the faults' drains': no fault is left to rescue it from, and on a
  // machine still busy with what ran before, a 2 s lease could run out before a run's outcome is written
  // (a second run with no fault behind it). Leases the killed drains left still run out in 2 s.
  await drain(conn.db, CHAOS_JOBS, { budgetMs: 5_000, leaseGraceMs: CLEAN_LEASE_GRACE_MS, housekeeping: CHAOS_TICK });
  // Done when nothing is left to run: a job waiting past the next few seconds waits for a wake that did not come.
  const [left] = await select<{ n: number }>(sql`select count(*)::int as n from sluice.jobs
    where status in ('pending', 'running') or (status = 'waiting' and run_after < now() + interval '10 seconds')`);
  if (left!.n === 0 || Date.now() - cleanStart > 180_000) break;
  await sleep(100); // backoffs (at most 1 s), leases (2 s grace) and waits (4 s at most) still running out
}
clearInterval(progress);
const cleanMs = Date.now() - cleanStart;
await stopWatching();

// --------------------------------------------------------------------------------- the checks
const lines = readdirSync(dir).filter((f) => f.startsWith('runs-')).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
const { runs, passes } = parseLogs(lines);
const rows = await select<JobRow>(sql`select id, type, status, attempts, payload, result, parent_id, parent_step,
  (extract(epoch from completed_at) * 1000)::float8 as completed_at from sluice.jobs`);
const inTable = new Map(rows.map((r) => [r.id, r]));
const succeeded = (id: string) => runs.get(id)?.some((r) => r.end?.outcome === 'ok') ?? false;
const lost = [...seeded.keys()].filter((id) => !inTable.has(id) && !succeeded(id));
const stuck = rows.filter((r) => r.status === 'pending' || r.status === 'waiting' || r.status === 'running');
const poison = [...seeded].filter(([, type]) => type === poisonJob.type).map(([id]) => inTable.get(id));
const badPoison = poison.filter((r) => r?.status !== 'dead' || r.attempts !== POISON_ATTEMPTS);
const deadOthers = rows.filter((r) => r.status === 'dead' && r.type !== poisonJob.type && !failingChild(r));
const effects = await select<{ job_id: string; step: string; n: number }>(sql`select job_id, step, count(*)::int as n from chaos_effects group by 1, 2`);
const repeatedEffects = effects.filter((e) => e.n > 1);
const events = await select<EventRow>(sql`select key, data, (extract(epoch from sent_at) * 1000)::float8 as sent_at from sluice.events where name = ${CHAOS_EVENT} order by id`);
const flowChecks = checkFlows({ rows, effects: new Map(effects.map((e) => [`${e.job_id} ${e.step}`, e.n])), events, cancels: flows.cancels, unsent: flows.unsent });
// A job starts at the latest a lease grace after its claim (or its last renewal), or goes back.
const rep = repeats(runs, faults, LEASE_GRACE_MS);
const overruns = deadlineOverruns(passes, faults);
const maxOverrun = Math.max(0, ...overruns);
const count = (kind: FaultKind) => faults.filter((f) => f.kind === kind).length;
const totalRuns = [...runs.values()].reduce((n, l) => n + l.length, 0);

const checks: [string, boolean][] = [
  [`no job lost (${lost.length} lost of ${seeded.size})`, lost.length === 0],
  [`none stuck: every job ended after the clean drain (${stuck.length} pending, waiting or running: ${tally(stuck.map((r) => `${r.type} ${r.status}`))})`, stuck.length === 0],
  [`poison jobs dead after exactly ${POISON_ATTEMPTS} attempts (${poison.length - badPoison.length} of ${poison.length})`, badPoison.length === 0],
  [`no other job dead (${deadOthers.length})`, deadOthers.length === 0],
  [`every repeated run follows an injected fault (${rep.total - rep.unexplained.length} of ${rep.total} explained)`, rep.unexplained.length === 0],
  [`no step's effect repeated (${repeatedEffects.length} repeated, ${effects.length} effects)`, repeatedEffects.length === 0],
  [`no drain past its deadline by more than 1 s (worst ${maxOverrun} ms over ${overruns.length} passes)`, maxOverrun <= 1_000],
  [`at least 60 SIGKILLs and 100 terminated connections (${count('kill')}, ${count('terminate')})`, count('kill') >= 60 && count('terminate') >= 100],
  ...flowChecks.checks.map(([what, ok]): [string, boolean] => [what, ok]),
];
console.log('\nFigures');
console.log(`  jobs: ${seeded.size} enqueued (${[...new Set(seeded.values())].map((t) => `${t} ${[...seeded.values()].filter((v) => v === t).length}`).join(', ')})`);
console.log(`  runs: ${totalRuns}; repeated runs after a fault: ${rep.total} (${Object.entries(rep.explainedBy).map(([k, v]) => `${k} ${v}`).join(', ')})`);
console.log(`  faults: ${(['kill', 'terminate', 'restart', 'stop', 'stall', 'lock'] as const).map((k) => `${k} ${count(k)}`).join(', ')}`);
console.log(`  drain passes: ${passes.length} (${passes.filter((p) => !p.ok).length} ended early by a database unreachable until their stop time); worst overrun ${maxOverrun} ms`);
for (const line of flowChecks.figures) console.log(`  ${line}`);
console.log(`  clean drain to the end: ${(cleanMs / 1000).toFixed(1)} s; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log('\nInvariants');
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
for (const u of rep.unexplained.slice(0, 5)) {
  console.log(`    unexplained: job ${u.id} (${u.first.type}) run at ${u.first.start} (pid ${u.first.pid}, ended ${JSON.stringify(u.first.end ?? null)}) again at ${u.again.start} (pid ${u.again.pid})`);
  const near = faults.filter((f) => f.to >= u.first.start - 5_000 && f.from <= u.again.start + 1_000);
  console.log(`      faults near: ${near.map((f) => `${f.kind}@${f.from}-${f.to} pid ${f.pid}`).join(', ')}`);
}
for (const id of lost.slice(0, 5)) console.log(`    lost: ${id}`);
// Jobs a check names, with their children and steps, kept with the run's logs for a look.
const named = [...stuck.slice(0, 20).map((r) => r.id), ...flowChecks.checks.flatMap(([, , ids]) => ids.slice(0, 20))];
if (named.length > 0) {
  const related = await select(sql`select j.*, (select json_agg(s) from sluice.job_steps s where s.job_id = j.id) as steps from sluice.jobs j
    where j.id = any(${`{${named.join(',')}}`}::uuid[]) or j.parent_id = any(${`{${named.join(',')}}`}::uuid[])`);
  writeFileSync(join(dir, 'named-jobs.json'), JSON.stringify(related, null, 1));
  for (const id of named.slice(0, 5)) console.log(`    named: ${id} (${JSON.stringify(inTable.get(id) ?? null)})`);
}

await conn.close();
await within(admin.end(), 2_000);
// Bounded like the rest: a Postgres that will not stop must not keep the suite (and CI) waiting.
await within(server.stop(), 30_000);
for (const child of live) child.kill('SIGKILL');
const passed = checks.every(([, ok]) => ok);
// A failed run keeps its logs for a look; the data directory goes either way.
rmSync(join(dir, 'data'), { recursive: true, force: true });
if (passed) rmSync(dir, { recursive: true, force: true });
else console.log(`\nrun logs kept in ${dir}`);
process.exit(passed ? 0 : 1);
