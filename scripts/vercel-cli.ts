/**
 * The Vercel CLI, pinned and kept out of the repo: installs vercel@VERCEL_CLI_VERSION into a cache
 * folder outside the repo on first use (358 MB, so never a dependency of this package), then reuses it.
 *
 *   node --import tsx scripts/vercel-cli.ts                 # vercel dev --local on 127.0.0.1:3000, offline
 *   node --import tsx scripts/vercel-cli.ts dev --local ... # any vercel command, with the pinned CLI
 *   node --import tsx scripts/vercel-cli.ts --path          # installs if needed, prints the binary's path
 *
 * Offline and without a login: `vercel dev --local --yes --global-config DIR` with
 * VERCEL_TELEMETRY_DISABLED=1 (60.1.3 is the newest version that installs here). Set
 * SLUICE_VERCEL_CLI_DIR to keep the CLI elsewhere. test/runtimes/vercel.ts runs the HTTP suite on it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERCEL_CLI_VERSION = '60.1.3';

/** Where the pinned CLI lives: $SLUICE_VERCEL_CLI_DIR, else ~/.cache/sluice-vercel-cli/<version>. */
export function vercelCliDir(): string {
  return resolve(process.env.SLUICE_VERCEL_CLI_DIR || join(homedir(), '.cache', 'sluice-vercel-cli', VERCEL_CLI_VERSION));
}

const binOf = (dir: string) => join(dir, 'node_modules', 'vercel', 'dist', 'vc.js');

function installedVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', 'vercel', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** npm's environment without what an enclosing `npm run` put there (its package, its prefix). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_(package_|lifecycle_|config_(local_prefix|prefix|global)$)/i.test(k)),
  );
}

/**
 * The path of the pinned CLI's entry script (run it with `node`), installing it first if the cache
 * folder does not hold it. The install goes to a sibling folder renamed into place once complete, so
 * an interrupted install is never mistaken for a finished one and two installers at once are safe.
 */
export function installVercelCli(log: (line: string) => void = (l) => console.error(l)): string {
  const dir = vercelCliDir();
  if (installedVersion(dir) === VERCEL_CLI_VERSION && existsSync(binOf(dir))) return binOf(dir);
  const staging = `${dir}.installing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'sluice-vercel-cli', private: true }));
  log(`[vercel-cli] installing vercel@${VERCEL_CLI_VERSION} into ${dir} (about 360 MB, once)`);
  const started = Date.now();
  const npm = spawnSync(
    'npm',
    ['install', `vercel@${VERCEL_CLI_VERSION}`, '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging],
    { cwd: staging, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (npm.status !== 0 || installedVersion(staging) !== VERCEL_CLI_VERSION) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`npm install vercel@${VERCEL_CLI_VERSION} failed (${npm.error?.message ?? `exit ${npm.status}`}):\n${npm.stdout}${npm.stderr}`);
  }
  if (installedVersion(dir) === VERCEL_CLI_VERSION) {
    rmSync(staging, { recursive: true, force: true }); // another installer finished first
  } else {
    rmSync(dir, { recursive: true, force: true }); // a broken or other version
    renameSync(staging, dir);
  }
  log(`[vercel-cli] installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return binOf(dir);
}

/** Arguments of an offline `vercel dev` serving `listen` (host:port), with its global config in `globalConfig`. */
export function vercelDevArgs(listen: string, globalConfig: string): string[] {
  return ['dev', '--local', '--yes', '--listen', listen, '--global-config', globalConfig];
}

/** The environment every offline run of the CLI gets on top of the caller's. */
export const VERCEL_OFFLINE_ENV = { VERCEL_TELEMETRY_DISABLED: '1' } as const;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const bin = installVercelCli();
  if (args[0] === '--path') {
    console.log(bin);
  } else {
    const globalConfig = join(vercelCliDir(), 'global-config');
    mkdirSync(globalConfig, { recursive: true });
    const argv = args.length ? args : vercelDevArgs(`127.0.0.1:${process.env.PORT || 3000}`, globalConfig);
    const child = spawn(process.execPath, [bin, ...argv], { stdio: 'inherit', env: { ...process.env, ...VERCEL_OFFLINE_ENV } });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  }
}
