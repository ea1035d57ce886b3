// This example installs Sluice from the repository root ("sluice": "file:../.." with install-links=true
// in .npmrc): npm packs the root as it finds it and extracts the tarball into node_modules/sluice,
// exactly as a registry install would. The root has no install-time script (a published package must
// not), so its dist/ is built here: `update` builds it first, and `check` runs `update` when the
// installed package has no dist/ (a fresh clone). One catch: package-lock.json records the
// dependencies Sluice had when the lock was written, and npm trusts that record, so a dependency
// added to the root package.json later would silently be missing here.
//
//   node scripts/sluice-package.mjs check    (postinstall) node_modules/sluice has its dist/ (else:
//                                             `update`), and the lock's record of Sluice's dependencies
//                                             matches ../../package.json; if not: `npm install`
//                                             repairs it (runs `update`), `npm ci` fails saying so
//   node scripts/sluice-package.mjs update   (npm run sluice:update) builds the root package (npm ci
//                                             there first on a fresh clone) and re-packs it, whether
//                                             or not its dependencies changed (e.g. after editing
//                                             ../../lib), and rewrites the lock's entry for it
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const log = (line) => console.error(`[sluice-package] ${line}`);
const LOCK_KEY = 'node_modules/sluice';

/** Differences between the lock's record of Sluice's dependencies and the root package.json. */
function drift() {
  if (!existsSync(here('package-lock.json'))) return [];
  const locked = readJson(here('package-lock.json')).packages?.[LOCK_KEY];
  if (!locked) return ['package-lock.json has no entry for sluice'];
  const root = readJson(here('../../package.json'));
  const problems = [];
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    const want = root[field] ?? {};
    const have = locked[field] ?? {};
    for (const name of new Set([...Object.keys(want), ...Object.keys(have)])) {
      if (want[name] !== have[name]) problems.push(`${field}.${name}: lock has ${have[name] ?? 'nothing'}, package.json has ${want[name] ?? 'nothing'}`);
    }
  }
  return problems;
}

function update() {
  const build = spawnSync(process.execPath, [here('../../scripts/package.mjs'), 'install-and-build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  // Forget what the lock says about Sluice (only its own entry: everything else stays pinned), so
  // npm packs the root again and resolves its dependencies from its current package.json.
  const lockPath = here('package-lock.json');
  if (existsSync(lockPath)) {
    const lock = readJson(lockPath);
    delete lock.packages?.[LOCK_KEY];
    writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  }
  rmSync(here('node_modules/sluice'), { recursive: true, force: true });
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: here(''),
    stdio: 'inherit',
    shell: process.platform === 'win32',
    // the nested install's own postinstall then finds the lock in sync and does nothing
    env: { ...process.env, SLUICE_PACKAGE_UPDATING: '1' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  const left = drift();
  if (left.length) {
    log(`the lock still differs from ../../package.json after the update:\n  ${left.join('\n  ')}`);
    process.exit(1);
  }
}

const mode = process.argv[2];
if (mode === 'check') {
  if (process.env.SLUICE_PACKAGE_UPDATING) process.exit(0);
  if (!existsSync(here('node_modules/sluice/dist/index.js'))) {
    log('node_modules/sluice has no dist/ (the repository root was not built yet): building and installing it');
    update();
    process.exit(0);
  }
  const problems = drift();
  if (problems.length === 0) process.exit(0);
  if (process.env.npm_command === 'ci') {
    log(`package-lock.json is out of date with the root package.json (Sluice's dependencies changed):\n  ${problems.join('\n  ')}\n` +
      'Run `npm run sluice:update` (or `npm install`) in examples/nextjs and commit package-lock.json.');
    process.exit(1);
  }
  log(`Sluice's dependencies changed since package-lock.json was written; updating it:\n  ${problems.join('\n  ')}`);
  update();
} else if (mode === 'update') {
  update();
} else {
  log('usage: node scripts/sluice-package.mjs check | update');
  process.exit(2);
}
