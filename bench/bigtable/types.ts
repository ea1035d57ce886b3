/**
 * The big-table scenario (issue 17): each system's job table filled the way a year of use leaves it,
 * set-based (INSERT ... SELECT generate_series in the system's own tables, indexes in place), and the
 * issue's skews one at a time, each measured beside a clean table of the same system. A system's part
 * (bigtable/<system>.ts) fills and measures in the parent, and drains in a child (bigtable/child.ts).
 */
import pg from 'pg';
import type { BenchPostgres } from '../services.js';
import type { SystemName } from '../systems/index.js';
import type { DrainResult, Endpoints } from '../systems/types.js';

/** What a table holds besides the jobs a drain is given to run. */
export interface Fill {
  /** Jobs that ran to completion: rows only where the system keeps them (pg-boss); dead jobs elsewhere. */
  finished: number;
  /** Jobs that failed for good (Sluice dead, pg-boss failed, graphile-worker out of attempts). */
  dead: number;
  /** Jobs of the drained type due within the next month, enqueued during the last one. */
  scheduled: number;
  /** Due jobs of types the draining instance does not define (another app on the database). */
  other: number;
  /** Due jobs of a type the instance defines and an operator paused. */
  paused: number;
  /** Keys of a per-key hourly rate limit holding their slot, each with one due job waiting for it. */
  rateKeys: number;
}
export type Part = keyof Fill;

export const NOTHING: Fill = { finished: 0, dead: 0, scheduled: 0, other: 0, paused: 0, rateKeys: 0 };

/** The year-old mix, as shares of the table's rows. */
export const MIX_SHARES = { finished: 0.4, dead: 0.1, scheduled: 0.1, other: 0.25, paused: 0.15 } as const;

export function mixFill(rows: number): Fill {
  const fill = { ...NOTHING };
  let left = rows;
  for (const [part, share] of Object.entries(MIX_SHARES)) left -= fill[part as Part] = Math.round(rows * share);
  fill.finished += left; // rounding
  return fill;
}

export type SkewName = 'unknown' | 'paused' | 'rate' | 'scheduled';

/** The issue's skews, each alone in an otherwise clean table; `rows` comes from the run's sizes. */
export const SKEWS: { name: SkewName; part: Part; what: (n: string) => string }[] = [
  { name: 'unknown', part: 'other', what: (n) => `${n} due jobs of types the instance does not define` },
  { name: 'paused', part: 'paused', what: (n) => `${n} due jobs of a paused type` },
  { name: 'rate', part: 'rateKeys', what: (n) => `${n} keys holding an hourly rate-limit slot, a due job waiting on each` },
  { name: 'scheduled', part: 'scheduled', what: (n) => `${n} jobs scheduled up to a month ahead` },
];

/** Job types (pg-boss: queues; graphile-worker: task identifiers) of every table. */
export const TYPES = {
  /** What the drains run: the bench's no-op job. */
  drained: 'noop',
  /** Defined by the draining instance, paused (peers have no pause: nothing works it). */
  paused: 'held',
  /** Another app's. */
  others: Array.from({ length: 10 }, (_, i) => `other-${i + 1}`),
  /** Sluice's rate-limited type (1 per key per hour). */
  limited: 'hourly',
} as const;

/** Finished and dead jobs are of every type. */
export const ALL_TYPES = [TYPES.drained, TYPES.paused, ...TYPES.others];

/** SQL: element g (1-based series) of `values`, round robin. */
export const roundRobin = (values: readonly (string | number)[], g = 'g') =>
  `(array[${values.map((v) => (typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')}])[1 + ${g} % ${values.length}]`;

/** SQL: an interval between 0 and `seconds`, spread evenly and repeatably over the series. */
export const spread = (seconds: number, g = 'g') => `(((${g})::bigint * 7919) % ${seconds}) * interval '1 second'`;

export const DAY_S = 86_400;

/** Rows per INSERT: each is its own transaction, so no statement holds millions of rows' trigger events. */
const CHUNK = 1_000_000;

/**
 * Inserts every part of `fill`, each in statements of at most CHUNK rows built by `insert` (g runs
 * from `from` + 1 to `from` + n), then vacuums and analyzes `tables`. Returns seconds.
 */
export async function fillTable(
  client: pg.Client, fill: Fill, tables: string, insert: (part: Part, from: number, n: number) => string[], log: (m: string) => void,
): Promise<number> {
  const start = performance.now();
  for (const part of Object.keys(fill) as Part[]) {
    for (let from = 0; from < fill[part]; from += CHUNK) {
      const n = Math.min(CHUNK, fill[part] - from);
      for (const statement of insert(part, from, n)) await client.query(statement);
      if (fill[part] > CHUNK) log(`    ${part}: ${(from + n).toLocaleString('en')} / ${fill[part].toLocaleString('en')}`);
    }
  }
  await client.query(`vacuum analyze ${tables}`);
  return (performance.now() - start) / 1000;
}

/**
 * What every system's side does alike: fill `tables` with `insert`'s rows, clear them (TRUNCATE of
 * `truncate`), and seed through `enqueue` after a vacuum, `mark()` (taken before) finding the seeded jobs later.
 */
export function tableSide(
  pgUrl: string, admin: pg.Client, tables: string, truncate: string, insert: (part: Part, from: number, n: number) => string[],
  enqueue: (n: number) => Promise<void>, mark: () => Promise<unknown> = async () => null,
): Pick<BigSide, 'direct' | 'fill' | 'clear' | 'seed'> {
  return {
    direct: { pgUrl },
    fill: (f, log) => fillTable(admin, f, tables, insert, log),
    async clear() {
      await admin.query(`truncate ${truncate}`);
      await admin.query(`vacuum analyze ${tables}`);
    },
    async seed(n) {
      await admin.query(`vacuum ${tables}`);
      const since = await mark();
      await enqueue(n);
      return { since };
    },
  };
}

/** One database's admin connection; autovacuum off on `tables` (vacuums are setup, never measured). */
export async function adminClient(url: string, tables: string[]): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const t of tables) await client.query(`alter table ${t} set (autovacuum_enabled = false)`);
  return client;
}

export async function dropDatabase(server: BenchPostgres, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`drop database if exists ${database} with (force)`);
  await client.end();
}

/** Rows (the planner's estimate, fresh after ANALYZE) and total size with indexes of one table. */
export async function tableSize(client: pg.Client, table: string): Promise<{ rows: number; mb: number }> {
  const r = await client.query<{ rows: string; bytes: string }>(
    `select greatest(reltuples, 0)::bigint as rows, pg_total_relation_size($1::regclass) as bytes from pg_class where oid = $1::regclass`, [table]);
  return { rows: Number(r.rows[0]!.rows), mb: Math.round(Number(r.rows[0]!.bytes) / 2 ** 20) };
}

export async function count(client: pg.Client, text: string, values: unknown[] = []): Promise<number> {
  return (await client.query<{ n: number }>(text, values)).rows[0]!.n;
}

/** A reading of a stats or health call. */
export interface Reading { kind: 'stats' | 'health'; label: string; ms: number }

/** Claims of the system's own batch size from a table of due drain jobs. */
export interface ClaimProbe {
  batch: number;
  /** One claim, client side (commit included); throws if it took fewer than `batch` jobs. */
  once(): Promise<number>;
  /** EXPLAIN (ANALYZE, BUFFERS) of one more claim, rolled back (Sluice only). */
  explain?(): Promise<string>;
  /** Deletes the claimed jobs and the rest of the probe's. */
  done(): Promise<void>;
}

/** One database of a system, seen from the parent over direct connections. */
export interface BigSide {
  direct: Endpoints;
  fill(fill: Fill, log: (m: string) => void): Promise<number>;
  /** Empties the job tables (and the rate slots), as installed. */
  clear(): Promise<void>;
  /**
   * Vacuums (as autovacuum would have since the last drain), then enqueues n drain jobs through the
   * system's own API. Returns what the child needs to find them.
   */
  seed(n: number): Promise<Record<string, unknown>>;
  /** After a drain that did not finish: deletes its jobs left. */
  cleanup(seeded: Record<string, unknown>): Promise<void>;
  claims(samples: number): Promise<ClaimProbe>;
  /** One reading of each stats and health call the system has. */
  readings(): Promise<Reading[]>;
  size(): Promise<{ rows: number; mb: number }>;
  /** Closes its connections and drops the database. */
  close(): Promise<void>;
}

export interface BigModule {
  /** How the system holds the mix, and what it offers for stats and health. */
  notes: string[];
  /** Skews it has no equivalent for, and why. */
  na: Partial<Record<SkewName, string>>;
  open(server: BenchPostgres, database: string): Promise<BigSide>;
  /** The child's drain of n seeded jobs; `options` are seed()'s and the skew's (`rate`). */
  drain(at: Endpoints, direct: Endpoints, n: number, capMs: number, options: Record<string, unknown>): Promise<DrainResult>;
}

export const bigSystems: Partial<Record<SystemName, () => Promise<BigModule>>> = {
  sluice: async () => (await import('./sluice.js')).big,
  'pg-boss': async () => (await import('./pgboss.js')).big,
  'graphile-worker': async () => (await import('./graphile.js')).big,
};
