import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';

/**
 * CPU time of the bench's Postgres server (postmaster and its children, exited children included),
 * from /proc, so "what did Postgres cost per job" is measured rather than guessed, whatever else the
 * shared machine runs. Linux only; elsewhere it reads 0 and the results say so.
 */
const TICKS = (() => { try { return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' })) || 100; } catch { return 100; } })();

/** [ppid, utime + stime, cutime + cstime] in clock ticks, from /proc/<pid>/stat; null if gone. */
function stat(pid: number): [number, number, number] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    return [f[1]!, f[11]! + f[12]!, f[13]! + f[14]!];
  } catch {
    return null;
  }
}

/** The postmaster's pid: the parent of this connection's backend. */
export async function postmasterPid(db: pg.Client): Promise<number | null> {
  const backend = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return stat(backend)?.[0] ?? null;
}

/** The server's CPU so far, ms: the postmaster, its live children, and its reaped ones. */
export function serverCpuMs(postmaster: number | null): number {
  if (postmaster === null) return 0;
  const own = stat(postmaster);
  if (!own) return 0;
  let ticks = own[1] + own[2];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === postmaster) continue;
    const s = stat(pid);
    if (s && s[0] === postmaster) ticks += s[1];
  }
  return (ticks * 1000) / TICKS;
}

/** Busy CPU time of the whole machine so far (every core), ms, from /proc/stat. */
export function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + (f[4] ?? 0);
    return ((f.reduce((a, b) => a + b, 0) - idle) * 1000) / TICKS;
  } catch {
    return 0;
  }
}
