import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startLocalPostgres } from '../local-postgres.js';

/** Thrown for conditions npm run dev explains to its user in one message instead of a stack. */
export class DevError extends Error {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/**
 * The embedded Postgres of npm run dev, its data kept in `<dataRoot>/postgres`. One npm run dev at a
 * time owns it: `<dataRoot>/dev.pid` names the owner, and a second one is told so.
 */
export async function startDevPostgres(dataRoot: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const lock = join(dataRoot, 'dev.pid');
  const owner = existsSync(lock) ? Number(readFileSync(lock, 'utf8')) : 0;
  if (owner && owner !== process.pid && alive(owner)) {
    throw new DevError(`npm run dev is already running (pid ${owner}) and owns ${dataRoot}. Stop it (Ctrl-C) first, or use that one.`);
  }
  const postmaster = join(dataRoot, 'postgres', 'postmaster.pid');
  if (!(await portFree(port))) {
    const stale = existsSync(postmaster) ? Number(readFileSync(postmaster, 'utf8').split('\n')[0]) : 0;
    throw new DevError(stale && alive(stale)
      ? `a Postgres left over from an earlier npm run dev still runs (pid ${stale}, port ${port}); stop it with: kill ${stale}`
      : `port ${port} is in use; set SLUICE_DEV_PG_PORT to another port for the embedded Postgres`);
  }
  mkdirSync(dataRoot, { recursive: true });
  if (owner) rmSync(lock, { force: true }); // its owner is gone
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    throw new DevError(`another npm run dev is starting right now (${lock} exists)`);
  }
  try {
    const pg = await startLocalPostgres({ dataDir: join(dataRoot, 'postgres'), port, persistent: true });
    return {
      url: pg.url,
      stop: async () => {
        await pg.stop();
        rmSync(lock, { force: true });
      },
    };
  } catch (error) {
    rmSync(lock, { force: true });
    throw error;
  }
}
