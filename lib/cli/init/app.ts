import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from '../errors.js';
import { parseJson } from './edits.js';

/** A Next.js App Router app in TypeScript, as `sluice init` found it. */
export interface NextApp {
  dir: string;
  /** 'app' or 'src/app'. */
  appDir: string;
  /** Where lib/sluice.ts goes: 'lib' or 'src/lib', beside the app folder. */
  libDir: string;
  /** The next.config file, if any (next.config.ts, .mjs, .js). */
  nextConfig?: string;
  cacheComponents: boolean;
  /** How the route file imports lib/sluice: '@/lib/sluice' when tsconfig maps '@/*' to the source root. */
  sluiceImport: string;
}

/** The app in `dir`, or a CliError saying in one line what is missing. */
export function findNextApp(dir: string): NextApp {
  const root = resolve(dir);
  const pkgPath = join(root, 'package.json');
  if (!existsSync(pkgPath)) throw new CliError(`no Next.js app found in ${root} (no package.json): run sluice init in your app's folder, or pass --dir`);
  const pkg = parseJson<{ dependencies?: Record<string, string>; devDependencies?: Record<string, string> }>('package.json', readFileSync(pkgPath, 'utf8'));
  if (!pkg.dependencies?.next && !pkg.devDependencies?.next) throw new CliError(`no Next.js app found in ${root} (package.json does not depend on next)`);
  const appDir = ['app', 'src/app'].find((d) => existsSync(join(root, d)));
  if (!appDir) throw new CliError(`no App Router folder in ${root} (app/ or src/app/): sluice init sets up App Router apps`);
  if (!existsSync(join(root, 'tsconfig.json'))) throw new CliError(`${root} has no tsconfig.json: sluice init writes TypeScript files`);
  const src = appDir === 'src/app' ? 'src/' : '';
  const nextConfig = ['next.config.ts', 'next.config.mjs', 'next.config.js'].find((f) => existsSync(join(root, f)));
  const configText = nextConfig ? readFileSync(join(root, nextConfig), 'utf8') : '';
  return {
    dir: root,
    appDir,
    libDir: `${src}lib`,
    nextConfig,
    cacheComponents: /\bcacheComponents\s*:\s*true\b/.test(configText),
    sluiceImport: aliasesSourceRoot(root, src) ? '@/lib/sluice' : '../../../lib/sluice',
  };
}

/** Whether tsconfig.json maps '@/*' to './*' (or './src/*' in a src/ layout), as create-next-app sets it up. */
function aliasesSourceRoot(root: string, src: string): boolean {
  const text = readFileSync(join(root, 'tsconfig.json'), 'utf8');
  const m = /"@\/\*"\s*:\s*\[\s*"([^"]+)"/.exec(text);
  return Boolean(m && m[1]!.replace(/^\.\//, '') === `${src}*`);
}
