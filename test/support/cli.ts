import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { runSluice } from '../../lib/cli/program.js';

// tsx's loader by URL (not `--import tsx`, which resolves from cwd: a fixture folder has no node_modules).
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const MAIN = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));

export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * `sluice <args>` from source, as its own process with stdin not a terminal, in `cwd`, with exactly
 * `env` (plus PATH and HOME): the developer's DATABASE_URL or secrets never leak in.
 */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `sluice <args>` with a terminal: util-linux `script` runs it on a pseudo-terminal, and `answer` is
 * typed once it asks a question ("[y/N]"). Returns everything the terminal showed.
 */
export function runCliInTerminal(args: string[], opts: { cwd: string; answer: string }): Promise<CliResult> {
  const command = [process.execPath, '--import', TSX_LOADER, MAIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: opts.cwd, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!answered && stdout.includes('[y/N]')) {
        answered = true;
        child.stdin.write(`${opts.answer}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

/**
 * `sluice <args>` in this process (fast: no process start, the engine loaded once): its exit status and
 * what it printed. Commands then see this process's environment, so pass --dir and use `env` files.
 */
export async function sluiceHere(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await runSluice(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** A folder of files (path: content) under the system's temp folder. */
export function fixtureDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The files create-next-app's TypeScript template has that sluice init reads (src: the src/ layout). */
export function nextAppFiles(opts: { src?: boolean; cacheComponents?: boolean } = {}): Record<string, string> {
  const src = opts.src ? 'src/' : '';
  return {
    'package.json': JSON.stringify({ name: 'app', private: true, scripts: { dev: 'next dev', build: 'next build' }, dependencies: { next: '16.4.6', react: '19.3.1' } }, null, 2),
    'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, paths: { '@/*': [`./${src}*`] } } }, null, 2),
    'next.config.ts': `import type { NextConfig } from "next";\n\nconst nextConfig: NextConfig = {\n  /* config options here */\n${opts.cacheComponents ? '  cacheComponents: true,\n' : ''}};\n\nexport default nextConfig;\n`,
    [`${src}app/page.tsx`]: 'export default function Home() { return <main>Home</main>; }\n',
  };
}
