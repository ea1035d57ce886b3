import { spawn } from 'node:child_process';

/** Runs a test fixture (a .ts file) in a process of its own; resolves with its stdout lines when it exits. */
export function runProcess(path: string, env: Record<string, string>, onLine?: (line: string, kill: () => void) => void): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine?.(line, () => child.kill('SIGKILL'));
    }
  });
  return new Promise((resolve) => child.on('exit', () => resolve(lines)));
}

/** The same fixture in `count` processes at once; each one's lines. */
export const runProcesses = (count: number, path: string, env: (i: number) => Record<string, string>) =>
  Promise.all(Array.from({ length: count }, (_, i) => runProcess(path, env(i))));
