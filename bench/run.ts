/**
 * Sluice's benchmark suite against pg-boss, graphile-worker and BullMQ (issue 4).
 *   npm run bench              full suite (about ten minutes), updates docs/performance.md
 *   npm run bench -- --quick   small sizes, under a minute; results go to bench/results/quick/
 * Development flags: --scenarios=throughput,enqueue,claim,cold,memory,floor,wake-latency,wake-backlog,wake-idle,flow,fairness,workflow,retention  --systems=sluice,pg-boss
 * (a run with either flag is partial: its results go to bench/results/partial/, never over the full run's).
 * The fairness scenario's sizes: BENCH_FAIRNESS_BIG=10000 BENCH_FAIRNESS_AFTER=1000 (bench/fairness/work.ts).
 *   npm run bench -- --scenarios=bigtable   the 10M-row table and its skews (issue 17), never part of the
 *   full suite: about an hour; BENCH_BIGTABLE_ROWS=200000 for a smaller table (see scenarios/bigtable.ts).
 * Every run starts its own Postgres (durability on) and Redis, and throws them away at the end.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FULL, QUICK, withEnv, type Context, type InstalledSystem } from './context.js';
import { writeReports, type Results } from './report.js';
import { bigtable } from './scenarios/bigtable.js';
import { claimLatency } from './scenarios/claim.js';
import { coldDrain } from './scenarios/cold.js';
import { memory, throughput } from './scenarios/drain.js';
import { retention } from './scenarios/retention.js';
import { enqueue } from './scenarios/enqueue.js';
import { fairness } from './scenarios/fairness.js';
import { floor } from './scenarios/floor.js';
import { flow } from './scenarios/flow.js';
import { wakeBacklog } from './scenarios/wake-backlog.js';
import { wakeIdle } from './scenarios/wake-idle.js';
import { wakeLatency } from './scenarios/wake-latency.js';
import { workflow } from './scenarios/workflow.js';
import { machine, POSTGRES_SETTINGS, startPostgres, startRedis, type BenchRedis } from './services.js';
import { SYSTEM_NAMES, systems, type SystemName } from './systems/index.js';
import type { SystemSetup } from './systems/types.js';

const SCENARIOS = ['throughput', 'enqueue', 'claim', 'cold', 'memory', 'floor', 'wake-latency', 'wake-backlog', 'wake-idle', 'flow', 'fairness', 'workflow', 'retention'] as const;
/** Run only when named in --scenarios. */
const ON_REQUEST = ['bigtable'] as const;

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',');
const quick = process.argv.includes('--quick');
const scenarios = arg('scenarios') ?? [...SCENARIOS];
const unknown = scenarios.filter((x) => !(SCENARIOS as readonly string[]).includes(x) && !(ON_REQUEST as readonly string[]).includes(x));
if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${[...SCENARIOS, ...ON_REQUEST].join(', ')}`);
const only = (arg('systems') ?? SYSTEM_NAMES) as SystemName[];
if (!only.includes('sluice')) only.unshift('sluice'); // Sluice is the subject of every scenario
const partial = arg('scenarios') !== undefined || arg('systems') !== undefined;

const started = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

const pkgVersion = (path: string) => (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
const git = (cmd: string) => { try { return execSync(`git ${cmd}`, { encoding: 'utf8' }).trim(); } catch { return ''; } };

async function install(name: SystemName, pg: Context['pg'], redis: BenchRedis | undefined): Promise<InstalledSystem> {
  let setup: SystemSetup;
  if (name === 'sluice') setup = (await import('./systems/sluice.js')).setup(pg);
  else if (name === 'pg-boss') setup = (await import('./systems/pgboss.js')).setup(pg);
  else if (name === 'graphile-worker') setup = (await import('./systems/graphile.js')).setup(pg);
  else setup = (await import('./systems/bullmq.js')).setup({ pgUrl: '', redis: { host: redis!.host, port: redis!.port } });
  return { name, setup, direct: await setup.install() };
}

async function main() {
  log(`${quick ? 'quick' : 'full'} run: ${scenarios.join(', ')}`);
  const pg = await startPostgres();
  log(`Postgres ${pg.version} on port ${pg.port} (fsync, synchronous_commit on)`);
  const redisOrSkip = only.includes('bullmq') ? await startRedis() : { skipped: 'not selected' };
  const redis = 'skipped' in redisOrSkip ? undefined : redisOrSkip;
  if (redis) log(`Redis ${redis.version} on port ${redis.port} (appendonly, fsync every second)`);
  const ctx: Context = { quick, sizes: withEnv(quick ? QUICK : FULL), pg, redis, systems: [], skipped: {}, log };
  try {
    for (const name of only) {
      if (systems[name].store === 'redis' && !redis) {
        ctx.skipped[name] = (redisOrSkip as { skipped: string }).skipped;
        log(`skipping ${name}: ${ctx.skipped[name]}`);
        continue;
      }
      ctx.systems.push(await install(name, pg, redis));
    }
    log(`installed: ${ctx.systems.map((s) => s.name).join(', ')}`);

    const results: Results = {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      partial,
      durationSec: 0,
      machine: await machine(),
      sluice: { version: pkgVersion('../package.json'), commit: git('rev-parse --short HEAD'), engineUncommitted: git('status --porcelain lib/queue') !== '' },
      versions: {},
      settings: {
        postgres: { version: pg.version, ...POSTGRES_SETTINGS },
        redis: redis ? { version: redis.version, ...redis.settings } : null,
      },
      sizes: ctx.sizes,
      skipped: ctx.skipped,
    };
    for (const s of ctx.systems) {
      const { info } = await systems[s.name].load();
      results.versions[s.name] = s.name === 'sluice' ? results.sluice.version : pkgVersion(`./node_modules/${info.pkg}/package.json`);
      results.settings[s.name] = info.settings;
    }

    if (scenarios.includes('throughput')) results.throughput = await throughput(ctx);
    if (scenarios.includes('enqueue')) results.enqueue = await enqueue(ctx);
    if (scenarios.includes('claim')) results.claim = await claimLatency(ctx);
    if (scenarios.includes('cold')) results.cold = await coldDrain(ctx);
    if (scenarios.includes('memory')) results.memory = await memory(ctx);
    if (scenarios.includes('retention')) results.retention = await retention(ctx);
    if (scenarios.includes('floor')) results.floor = await floor(ctx);
    if (scenarios.includes('wake-latency')) results.wakeLatency = await wakeLatency(ctx);
    if (scenarios.includes('wake-backlog')) results.wakeBacklog = await wakeBacklog(ctx);
    if (scenarios.includes('wake-idle')) results.wakeIdle = await wakeIdle(ctx);
    if (scenarios.includes('flow')) results.flow = await flow(ctx);
    if (scenarios.includes('fairness')) results.fairness = await fairness(ctx);
    if (scenarios.includes('workflow')) results.workflow = await workflow(ctx);
    if (scenarios.includes('bigtable')) results.bigtable = await bigtable(ctx);

    results.durationSec = Math.round((performance.now() - started) / 1000);
    const written = writeReports(results);
    log(`wrote ${written.join(', ')}`);
  } finally {
    for (const s of ctx.systems) await s.setup.close().catch(() => {});
    await redis?.stop();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0), // a peer's leftover timer must not keep the run alive
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
