// The faults the chaos suite injects (npm run chaos), each logged with its time and target, so the
// checks can explain every repeated run by one of them.
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';

export type FaultKind = 'kill' | 'terminate' | 'restart' | 'stop' | 'stall' | 'lock';

/** One injected fault: `pid` is the drain process it hit (null: every drain, e.g. a restart). */
export interface Fault {
  kind: FaultKind;
  pid: number | null;
  from: number;
  to: number;
  /** It failed part way (its target died, a restart cut it): it may still have struck. */
  failed?: string;
}

export interface FaultTargets {
  /** Live drain processes. */
  drainers(): ChildProcess[];
  /** A client for pg_stat_activity and pg_terminate_backend (the suite reconnects it after a restart). */
  admin(): pg.Client;
  /** The chaos database's URL (the table lock takes a connection of its own). */
  url: string;
  restartPostgres(): Promise<void>;
  leaseGraceMs: number;
}

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Backends of the drain processes: server pid and the drain process's pid (from application_name). */
async function drainBackends(admin: pg.Client, database: string): Promise<{ backend: number; drainer: number }[]> {
  const { rows } = await admin.query<{ pid: number; application_name: string }>(
    `select pid, application_name from pg_stat_activity where datname = $1 and application_name like 'chaos-drain-%'`, [database]);
  return rows.map((r) => ({ backend: r.pid, drainer: Number(r.application_name.slice('chaos-drain-'.length)) }));
}

/** The fault injectors; each resolves with what it did, or null when it found no target. */
export function injectors(t: FaultTargets, database: string): Record<FaultKind, () => Promise<Fault | null>> {
  const now = () => Date.now();
  return {
    async kill() {
      const child = pick(t.drainers());
      if (!child?.pid) return null;
      const at = now();
      child.kill('SIGKILL');
      return { kind: 'kill', pid: child.pid, from: at, to: at };
    },
    async terminate() {
      const target = pick(await drainBackends(t.admin(), database));
      if (!target) return null;
      const at = now();
      await t.admin().query('select pg_terminate_backend($1)', [target.backend]);
      return { kind: 'terminate', pid: target.drainer, from: at, to: at };
    },
    async restart() {
      const from = now();
      await t.restartPostgres();
      return { kind: 'restart', pid: null, from, to: now() };
    },
    // A drain process frozen past its leases (a VM paused, a debugger), then resumed.
    async stop() {
      const child = pick(t.drainers());
      if (!child?.pid) return null;
      const from = now();
      child.kill('SIGSTOP');
      await sleep(t.leaseGraceMs + 3_000);
      child.kill('SIGCONT');
      return { kind: 'stop', pid: child.pid, from, to: now() };
    },
    // A drain's backend frozen mid-statement for 3 s: its statement neither answers nor fails.
    async stall() {
      const target = pick(await drainBackends(t.admin(), database));
      if (!target) return null;
      const from = now();
      try {
        process.kill(target.backend, 'SIGSTOP');
      } catch {
        return null; // gone already
      }
      await sleep(3_000);
      process.kill(target.backend, 'SIGCONT');
      return { kind: 'stall', pid: target.drainer, from, to: now() };
    },
    // The jobs table locked for 3 s, as a migration's ALTER TABLE would.
    async lock() {
      const client = new pg.Client({ connectionString: t.url });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query('begin');
        const from = now();
        await client.query('lock table sluice.jobs in access exclusive mode');
        await sleep(3_000);
        await client.query('commit');
        return { kind: 'lock', pid: null, from, to: now() };
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}
