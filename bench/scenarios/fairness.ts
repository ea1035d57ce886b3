import { fileURLToPath } from 'node:url';
import { round, type Context } from '../context.js';
import { runChild } from '../fork.js';
import { fairnessSystems } from '../fairness/systems.js';
import { FAIRNESS_CONCURRENCY, fairnessSizes, JOB_MS, tenantPayloads, type FairnessOptions, type FairnessResult, type FairnessStats } from '../fairness/work.js';

const CHILD = fileURLToPath(new URL('../fairness/child.ts', import.meta.url));
/** Over the drain scenario's cap: pg-boss's rows take most of a minute at full size on a busy machine. */
const capMs = (ctx: Context) => ctx.sizes.capMs * 2;
/** A row whose backlog crawls (FairnessModule.crawls): its cap, and when its small tenant arrives. */
const crawlCapMs = (ctx: Context) => (ctx.quick ? 10_000 : 20_000);
const crawlArrivalMs = (ctx: Context) => (ctx.quick ? 2_000 : 5_000);

export interface FairnessRow extends FairnessStats {
  system: string;
  mode: string;
  label: string;
  /** A row whose backlog crawls (FairnessModule.crawls), run to a short cap. */
  crawls?: true;
  /** The small tenant arrived this long into the drain (a crawling row), not after `smallAfter` big jobs. */
  arriveAfterMs?: number;
  jobs: number;
  completed: number;
  capped: boolean;
  /** Worker start to every completion stored (or to the cap). */
  totalMs: number;
  capMs: number;
}

export interface Fairness {
  big: number;
  small: number;
  smallAfter: number;
  jobMs: number;
  concurrency: number;
  rows: FairnessRow[];
  /** What each system's workers ran with, per mode where they differ. */
  settings: Record<string, Record<string, unknown>>;
}

/**
 * How long one tenant's few jobs wait behind another's backlog: `big` jobs of JOB_MS ms of tenant
 * "big" are enqueued, a worker running FAIRNESS_CONCURRENCY at once starts on them, and once it has
 * started `smallAfter` of them, `small` jobs of tenant "small" are enqueued over another connection.
 * Each system runs plain and with its closest equivalent of fairness, one drain per row, in a process
 * of its own (fairness/child.ts), on its own database, without a relay.
 */
export async function fairness(ctx: Context): Promise<Fairness> {
  const sizes = fairnessSizes(ctx.quick);
  const backlog = tenantPayloads('big', sizes.big);
  const n = sizes.big + sizes.small;
  const rows: FairnessRow[] = [];
  const settings: Fairness['settings'] = {};
  const when = sizes.smallAfter === 0 ? 'right after it, before the worker starts' : `once ${sizes.smallAfter.toLocaleString('en')} of the backlog have started`;
  ctx.log(`fairness: ${sizes.big.toLocaleString('en')} jobs of ${JOB_MS} ms of one tenant, ${sizes.small} of another ${when}, ${FAIRNESS_CONCURRENCY} at once`);
  for (const system of ctx.systems) {
    const load = fairnessSystems[system.name];
    if (!load) continue;
    const module = await load();
    settings[system.name] = module.settings;
    const setup = await module.setup(system.direct);
    try {
      for (const mode of module.modes) {
        await setup.reset();
        await setup.seed(backlog, mode);
        const crawls = module.crawls?.includes(mode) ?? false;
        const byTime = crawls && sizes.smallAfter > 0; // with the backlog (smallAfter 0) means before the worker starts, for every row
        const options: FairnessOptions = { ...sizes, mode, ...(byTime ? { arriveAfterMs: crawlArrivalMs(ctx) } : {}) };
        const cap = crawls ? crawlCapMs(ctx) : capMs(ctx);
        const task = { kind: 'drain' as const, system: system.name, at: system.direct, direct: system.direct, n, capMs: cap, options: { ...options } };
        const r = (await runChild<FairnessResult>(task, undefined, false, CHILD)).result;
        const left = await setup.remaining();
        if (left > 0 && !r.capped) ctx.log(`  ! ${system.name}: ${left} jobs left after a drain that said it finished`);
        const row: FairnessRow = {
          system: system.name, mode, label: module.label(mode), ...(crawls ? { crawls: true } : {}), ...(byTime ? { arriveAfterMs: options.arriveAfterMs } : {}),
          jobs: n, completed: r.completed, capped: r.capped, totalMs: round(r.ms), capMs: cap, ...r.extra,
        };
        rows.push(row);
        const s = (ms: number) => `${Math.round(ms).toLocaleString('en')} ms`;
        if (row.smallStarted < sizes.small) ctx.log(`  ! ${row.label}: ${row.smallStarted} of the small tenant's ${sizes.small} jobs started`);
        ctx.log(`  ${row.label}: small tenant arrived after ${row.startedAtArrival.toLocaleString('en')} starts, its last job started ${s(row.lastStartMs)} after its enqueue (first ${s(row.firstStartMs)}, last done ${s(row.lastEndMs)}), ${row.bigAhead.toLocaleString('en')} big jobs went ahead of it, place ${row.position.toLocaleString('en')}; all ${row.completed.toLocaleString('en')}/${n.toLocaleString('en')} in ${s(row.totalMs)}${row.capped ? ' (CAPPED)' : ''}, ${row.avgRunning} busy on average, peak ${row.peakRunning}`);
      }
    } finally {
      await setup.close().catch(() => {});
    }
  }
  return { ...sizes, jobMs: JOB_MS, concurrency: FAIRNESS_CONCURRENCY, rows, settings };
}
