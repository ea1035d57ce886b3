/**
 * The history's statements (see queries.ts for the rules): the drains' sums ride as a CTE on the
 * statements that write outcomes; the dashboard reads a range of minutes.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db.js';
import type { HistoryRow } from './history.js';
import { ofTypes, rows } from '../queries.js';

/**
 * Adds a pass's sums to this minute's rows (by the database's clock), one row per type. Rows come in
 * type order, so two drains upserting the same minute lock its rows in the same order. Histograms go
 * as text ('{1,0,3}') in a text[]: unnest() would flatten a two-dimensional array.
 */
export function historyCte(history: HistoryRow[]) {
  const column = <T>(pick: (r: HistoryRow) => T) => sql.param(history.map(pick));
  const hist = (h: number[]) => `{${h.join(',')}}`;
  const add = (name: string) => sql.raw(`array(select coalesce(a, 0) + coalesce(b, 0) from unnest(h.${name}, excluded.${name}) with ordinality u(a, b, i) order by i)`);
  return sql`history as (
      insert into sluice.job_history as h (minute, type, completed, retried, dead, rescued, run_hist, lag_hist)
      select date_trunc('minute', now()), x.type, x.completed, x.retried, x.dead, x.rescued, x.run::int[], x.lag::int[]
      from unnest(${column((r) => r.type)}::text[], ${column((r) => r.completed)}::int[], ${column((r) => r.retried)}::int[],
                  ${column((r) => r.dead)}::int[], ${column((r) => r.rescued)}::int[],
                  ${column((r) => hist(r.run))}::text[], ${column((r) => hist(r.lag))}::text[])
        as x(type, completed, retried, dead, rescued, run, lag)
      on conflict (minute, type) do update set
        completed = h.completed + excluded.completed,
        retried = h.retried + excluded.retried,
        dead = h.dead + excluded.dead,
        rescued = h.rescued + excluded.rescued,
        run_hist = ${add('run_hist')},
        lag_hist = ${add('lag_hist')}
      returning h.type
    )`;
}

export interface HistoryMinute {
  /** Epoch seconds of the minute's start. */
  t: number;
  type: string;
  completed: number;
  retried: number;
  dead: number;
  rescued: number;
  run_hist: number[];
  lag_hist: number[];
}

/** The history's rows since `sinceMs` ago, of these types (null: all), oldest first. */
export async function historySince(db: Db, types: string[] | null, sinceMs: number): Promise<HistoryMinute[]> {
  return rows<HistoryMinute>(
    db,
    sql`select extract(epoch from minute)::float8 as t, type, completed, retried, dead, rescued, run_hist, lag_hist
        from sluice.job_history where minute >= now() - ${sinceMs}::float8 * interval '1 millisecond' and ${ofTypes(types)}
        order by minute, type`,
  );
}

export interface DepthSample {
  t: number;
  pending: number;
  due: number;
  running: number;
  dead: number;
  oldest_due_ms: number;
}

/**
 * An app's depth samples since `sinceMs` ago (its whole queue: type ''), oldest first. With no app, the
 * database's: every app's summed per minute (apps count their own types only).
 */
export async function samplesSince(db: Db, app: string | null, sinceMs: number): Promise<DepthSample[]> {
  return rows<DepthSample>(
    db,
    sql`select extract(epoch from minute)::float8 as t, sum(pending)::int as pending, sum(due)::int as due, sum(running)::int as running,
               sum(dead)::int as dead, max(oldest_due_ms)::float8 as oldest_due_ms
        from sluice.queue_samples
        where (${app}::text is null or app = ${app}::text) and type = '' and minute >= now() - ${sinceMs}::float8 * interval '1 millisecond'
        group by minute order by minute`,
  );
}
