import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './nextjs.js';

/**
 * A brand-new Next.js app as a user gets one: `npx create-next-app@latest` with its defaults
 * (TypeScript, App Router, Tailwind, ESLint, cacheComponents), then Sluice installed from `npm pack`
 * of the repository, as from the registry.
 *
 * create-next-app's result is cached (SLUICE_TEST_CACHE, default ~/.cache/sluice-tests: npm ci
 * wipes node_modules) and copied for each run; delete the cache to test a newer create-next-app.
 * The one change to the template: its layout loads Google fonts, which fail offline, so it gets a
 * plain one.
 */
const CACHE = process.env.SLUICE_TEST_CACHE ?? join(homedir(), '.cache', 'sluice-tests');
const TEMPLATE = join(CACHE, 'create-next-app');

/** A command's run with output kept for the error; npm's and vitest's own variables left out. */
export function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, input?: string): string {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(npm_.*|VITEST.*|TINYPOOL.*|NODE_OPTIONS|NODE_ENV|DATABASE_URL.*|[A-Z]+_SECRET|SLUICE_.*)$/i.test(k)));
  const result = spawnSync(command, args, {
    cwd, env: { ...base, NEXT_TELEMETRY_DISABLED: '1', CI: '1', ...env }, encoding: 'utf8', maxBuffer: 64 << 20, input: input ?? '',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} in ${cwd} failed (exit ${result.status ?? result.signal}):\n${(result.stdout ?? '').slice(-4000)}\n${(result.stderr ?? '').slice(-4000)}`);
  }
  return result.stdout;
}

const PLAIN_LAYOUT = `import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = { title: "Create Next App" };

export default function RootLayout({ children }: Readonly<{ children: React.ReactNode }>) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
`;

function template(): string {
  if (!existsSync(join(TEMPLATE, 'node_modules', 'next', 'package.json'))) {
    rmSync(TEMPLATE, { recursive: true, force: true });
    mkdirSync(CACHE, { recursive: true });
    // Non-interactive: --yes takes the defaults for every option not given (stdin is not a terminal either).
    run('npx', ['-y', 'create-next-app@latest', TEMPLATE, '--yes', '--ts', '--app', '--use-npm', '--disable-git', '--no-agent-feedback'], CACHE);
  }
  writeFileSync(join(TEMPLATE, 'app', 'layout.tsx'), PLAIN_LAYOUT);
  return TEMPLATE;
}

/** A copy of the cached template in a fresh folder, with Sluice installed from a tarball of this repository. */
export function freshNextApp(): string {
  const from = template();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-next-app-'));
  cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  // npm pack runs prepack: dist/ built afresh from lib/.
  const packed = run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], REPO_ROOT).trim().split('\n').pop()!;
  run('npm', ['install', '--no-audit', '--no-fund', join(dir, packed)], dir);
  return dir;
}

/** Whether the template turned cacheComponents on (the reason the route file has no `runtime` export). */
export const nextConfigFile = (dir: string) => readdirSync(dir).find((f) => /^next\.config\./.test(f))!;
