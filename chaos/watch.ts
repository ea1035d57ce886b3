// The chaos database's long transactions (open 3 s or more: a long lock wait, a transaction left open),
// logged once a second with the backends blocking them, so that a run held up without a fault can be
// told apart from one a fault held up.
import pg from 'pg';

const LONG = `select a.pid, a.application_name as app, a.state, a.wait_event_type as wait_type, a.wait_event as wait,
    round(extract(epoch from now() - a.xact_start))::int as xact_s, round(extract(epoch from now() - a.query_start))::int as query_s,
    pg_blocking_pids(a.pid) as blocked_by, left(a.query, 200) as query
  from pg_stat_activity a
  where a.datname = current_database() and a.pid <> pg_backend_pid() and a.xact_start < now() - interval '3 seconds'`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Watches until the function it returns is called (and resolves once the watch is over). */
export function watchLongTransactions(url: string, note: (line: string) => void): () => Promise<void> {
  let stopped = false;
  let client: pg.Client | undefined;
  const watching = (async () => {
    while (!stopped) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url, application_name: 'chaos-watch', connectionTimeoutMillis: 5_000, query_timeout: 5_000 });
          client.on('error', () => {});
          await client.connect();
        }
        for (const row of (await client.query(LONG)).rows) note(`long ${JSON.stringify(row)}`);
      } catch {
        void client?.end().catch(() => {}); // restarting, or a connection cut: a fresh one next time
        client = undefined;
      }
      await sleep(1_000);
    }
  })();
  return async () => {
    stopped = true;
    await watching;
    await client?.end().catch(() => {});
  };
}
