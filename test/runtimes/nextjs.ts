import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, freePort, type Server, spawnServer } from './process.js';

/**
 * examples/nextjs (the Next.js App Router example, which installs Sluice from `npm pack` of the
 * repository) as a runtime: installed and built when needed, then `next start` on a free loopback port.
 *
 * "When needed" goes by content hashes, so a run after editing lib/ re-packs Sluice and rebuilds, and a
 * run with nothing changed starts at once:
 * - no node_modules: `npm ci` from the committed lock (it fails, saying how to fix it, when Sluice's
 *   dependencies changed since the lock was written), after building the root's dist/ it packs.
 * - the package's sources changed since node_modules/sluice was packed: `npm run sluice:update`.
 * - the example's sources or the installed Sluice changed since the last build: `npm run build`.
 * A fresh clone takes about a minute here (npm ci of the example, plus the root's if it has none).
 */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const exampleDir = (root = REPO_ROOT) => join(root, 'examples', 'nextjs');

/** sha256 over files (path and content), directories walked, in a stable order. */
function hashFiles(base: string, paths: string[], skip: (rel: string) => boolean = () => false): string {
  const hash = createHash('sha256');
  const visit = (abs: string) => {
    const rel = relative(base, abs);
    if (skip(rel) || !existsSync(abs)) return;
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      hash.update(`${rel}\0`).update(readFileSync(abs)).update('\0'); // a file
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) visit(join(abs, e.name));
  };
  for (const p of paths) visit(join(base, p));
  return hash.digest('hex');
}

/** What the packed package is made of (tsconfig.build.json compiles lib/ less the repository's own app). */
const packageSourceHash = (root: string) =>
  hashFiles(root, ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/package.mjs', 'lib', 'drizzle', 'LICENSE', 'README.md'],
    (rel) => rel === join('lib', 'app') || rel === join('lib', 'jobs'));

const exampleSourceHash = (dir: string) =>
  hashFiles(dir, ['app', 'lib', 'drizzle', 'next.config.ts', 'tsconfig.json', 'package.json', 'package-lock.json', 'node_modules/sluice']);

const readStamp = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined);

/** npm in the example, without what the test process's npm or vitest set (npm_config_*, NODE_OPTIONS...). */
function npm(args: string[], cwd: string, env: Record<string, string> = {}): void {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_.*|VITEST.*|TINYPOOL.*|NODE_OPTIONS|NODE_ENV)$/i.test(k)));
  const result = spawnSync('npm', args, { cwd, env: { ...base, NEXT_TELEMETRY_DISABLED: '1', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} in ${cwd} failed (exit ${result.status ?? result.signal}):\n${(result.stdout ?? '').slice(-4000)}\n${(result.stderr ?? '').slice(-4000)}`);
  }
}

const prepared = new Map<string, Promise<void>>();

/** Installs, re-packs Sluice and builds examples/nextjs of `root` as needed (see above). */
export function prepareNextjs(root = REPO_ROOT): Promise<void> {
  let done = prepared.get(root);
  if (!done) {
    done = (async () => {
      const dir = exampleDir(root);
      const sluiceStamp = join(dir, 'node_modules', '.sluice-source.sha256');
      const buildStamp = join(dir, '.next', '.sluice-example.sha256');
      const installed = existsSync(join(dir, 'node_modules', 'next', 'package.json')) && existsSync(join(dir, 'node_modules', 'sluice', 'package.json'));
      if (!installed) {
        // The root's dist/ as lib/ is now (the package has no install-time script to build it).
        const build = spawnSync(process.execPath, [join(root, 'scripts', 'package.mjs'), 'install-and-build'], { cwd: root, encoding: 'utf8' });
        if (build.status !== 0) throw new Error(`building the package failed:\n${build.stderr}`);
        npm(['ci', '--no-audit', '--no-fund'], dir);
        writeFileSync(sluiceStamp, packageSourceHash(root));
      } else if (readStamp(sluiceStamp) !== packageSourceHash(root)) {
        npm(['run', 'sluice:update'], dir);
        writeFileSync(sluiceStamp, packageSourceHash(root));
      }
      const want = exampleSourceHash(dir);
      if (!existsSync(join(dir, '.next', 'BUILD_ID')) || readStamp(buildStamp) !== want) {
        npm(['run', 'build'], dir);
        writeFileSync(buildStamp, want);
      }
    })();
    done.catch(() => prepared.delete(root));
    prepared.set(root, done);
  }
  return done;
}

/** Runs the example's own `npm run db:migrate` (Sluice's migrations, then the app's) on env.DATABASE_URL. */
export async function migrateNextjs(opts: { env: Record<string, string>; root?: string }): Promise<void> {
  await prepareNextjs(opts.root);
  npm(['run', 'db:migrate'], exampleDir(opts.root), childEnv(opts.env) as Record<string, string>);
}

/**
 * `next start` in `root`'s examples/nextjs (installed and built first if needed) with exactly `env`
 * (plus PATH, HOME and the like) and PORT, on http://127.0.0.1:<free port>. The database in
 * env.DATABASE_URL must be migrated (the HTTP suite's is; otherwise migrateNextjs).
 */
export async function startNextjs(opts: { env: Record<string, string>; root?: string; readyTimeoutMs?: number }): Promise<Server> {
  const dir = exampleDir(opts.root);
  refuseDotenv(dir);
  await prepareNextjs(opts.root);
  const port = await freePort();
  return spawnServer({
    name: 'next start',
    // next itself rather than `npm start`: one process to stop. PORT as a host would set it (next start reads it).
    command: process.execPath,
    args: [join(dir, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '--hostname', '127.0.0.1'],
    cwd: dir,
    env: childEnv({ ...opts.env, PORT: String(port), NEXT_TELEMETRY_DISABLED: '1' }),
    url: `http://127.0.0.1:${port}`,
    readyPath: '/api/health',
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
  });
}

/**
 * next start loads .env files of its folder under the environment it was started with: a developer's
 * examples/nextjs/.env.local could add settings (HEALTH_SECRET, ...) the test did not choose. Refuse.
 */
function refuseDotenv(dir: string): void {
  const found = ['.env', '.env.local', '.env.production', '.env.production.local'].filter((f) => existsSync(join(dir, f)));
  if (found.length) throw new Error(`${dir} has ${found.join(', ')}, which next start would load; move it aside to run this suite`);
}
