#!/usr/bin/env node
// Builds the npm package: lib/ compiled to dist/ by tsconfig.build.json, then checked.
//
//   node scripts/package.mjs build     (npm run build:package) clean dist/, compile, check the entries.
//     Not named "build": the Vercel CLI takes a `build` script for a static site to build (vercel dev
//     fails with "Creating initial build", a deploy wants an output directory) instead of serving api/.
//   node scripts/package.mjs install-and-build   installs this repository's dependencies when
//     node_modules lacks any (a fresh clone), then builds: what examples/nextjs runs before it installs
//     "sluice": "file:../.." (npm packs a directory dependency as it finds it).
//   npm pack / npm publish run `build` as `prepack`.
//
// Plain JavaScript on purpose: install-and-build runs on a fresh clone, where nothing (not even tsx) is
// installed yet. No `prepare` or other install-time script: npm runs `prepare` of a tarball dependency
// on install (and warns that allowScripts does not cover it), and users' installs must run nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const log = (line) => console.error(`[sluice package] ${line}`);

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    log(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

/** Names in dependencies/devDependencies that node_modules lacks. */
function missingDependencies() {
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return names.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
}

/** The repository's dependencies, from its lockfile, in an environment free of the outer npm's settings. */
function installDependencies() {
  const missing = missingDependencies();
  if (missing.length === 0) return;
  log(`installing this repository's dependencies to build it (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''})`);
  // The outer npm (examples/nextjs's script) passes its configuration down as npm_config_* and its
  // package as npm_package_*: neither may leak into the install of this repository (install-links, the
  // outer prefix).
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], env);
}

function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    log('typescript is not installed: run `npm install` in the repository root first');
    process.exit(1);
  }
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  check();
}

/** Every export's files exist; nothing of the repository's own app, tests or scripts slipped into dist/. */
function check() {
  const problems = [];
  for (const [entry, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target !== 'object') continue;
    for (const file of [target.types, target.import]) {
      if (file && !existsSync(join(root, file))) problems.push(`exports["${entry}"] names ${file}, which the build did not produce`);
    }
  }
  for (const [name, file] of Object.entries(pkg.bin ?? {})) {
    if (!existsSync(join(root, file))) problems.push(`bin.${name} names ${file}, which the build did not produce`);
  }
  for (const dir of ['app']) {
    if (existsSync(join(root, 'dist', dir))) {
      problems.push(`dist/${dir} exists: something the package entries import pulls in lib/${dir} (the example app)`);
    }
  }
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of walk(join(root, 'dist'))) {
    if (/\.test\.(js|d\.ts)$/.test(file)) problems.push(`${file} is a test`);
  }
  if (!existsSync(join(root, 'drizzle', 'meta', '_journal.json'))) problems.push('drizzle/meta/_journal.json is missing: the migrations would not ship');
  const { missing, untyped } = undeclaredImports(walk(join(root, 'dist')));
  problems.push(...missing);
  if (problems.length) {
    for (const p of problems) log(p);
    process.exit(1);
  }
  // A warning only: with skipLibCheck (which drizzle-orm needs anyway) such an import is `any` for users.
  for (const w of untyped) log(`warning: ${w}`);
  log(`built dist/ (${Object.keys(pkg.exports ?? {}).join(', ')})`);
}

/**
 * Bare imports of the built files that an installed package could not satisfy. In this repository
 * they would still resolve (from the root's node_modules, devDependencies included, and an app inside
 * the repository like examples/nextjs finds them there too), so only this check catches them: every
 * package dist/*.js imports must be a dependency, and every one a .d.ts imports must ship types or
 * have its @types package among the dependencies.
 */
function undeclaredImports(files) {
  const deps = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }));
  const builtins = new Set(builtinModules);
  const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
  const shipsTypes = (name) => {
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) return false;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return Boolean(manifest.types || manifest.typings || existsSync(join(dir, 'index.d.ts')) || JSON.stringify(manifest.exports ?? '').includes('"types"'));
  };
  const missing = new Set();
  const untyped = new Set();
  for (const file of files) {
    if (!/\.(js|d\.ts)$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    // Only what can name a module: the dashboard's page ships as strings of code and HTML, where
    // "from '" also starts text ("Replay from step", `value="…" type=`), which no module name looks like.
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1])
      .filter((spec) => /^(?:node:|\.{1,2}\/|(?:@[\w.~-]+\/)?[\w.~-]+(?:\/[\w.~/-]*)?$|.*\$\{)/.test(spec));
    for (const spec of specs) {
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
      // The package by its own name (self-reference through `exports`), and the CLI's templates of
      // users' files (lib/cli/app-files.ts: `from 'sluice'`, `from '${...}'`), resolve in the user's app.
      if (packageName(spec) === pkg.name || spec.includes('${')) continue;
      const name = packageName(spec);
      const rel = file.slice(root.length + 1);
      const typesPackage = `@types/${name.replace(/^@(.*)\/(.*)$/, '$1__$2')}`;
      // A .d.ts may import a types-only module (aws-lambda): its @types package is the dependency.
      if (file.endsWith('.d.ts') && !deps.has(name) && deps.has(typesPackage)) continue;
      if (!deps.has(name)) {
        missing.add(`${rel} imports ${spec}, but ${name} is not among the package's dependencies`);
      } else if (file.endsWith('.d.ts') && !shipsTypes(name) && !deps.has(`@types/${name.replace(/^@(.*)\/(.*)$/, '$1__$2')}`)) {
        untyped.add(`${rel} imports types from ${name}, which ships none, and @types/${name} is not among the dependencies`);
      }
    }
  }
  return { missing: [...missing], untyped: [...untyped] };
}

const mode = process.argv[2];
if (mode === 'build') {
  build();
} else if (mode === 'install-and-build') {
  installDependencies();
  build();
} else if (mode === 'check') {
  check();
} else {
  log('usage: node scripts/package.mjs build | install-and-build | check');
  process.exit(2);
}
