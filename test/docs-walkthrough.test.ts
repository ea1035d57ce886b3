import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/local-postgres.js';
import { freshDatabase } from './support/db.js';
import { answerPattern, codeBlocks, ROOT } from './support/docs.js';
import { waitFor } from './support/sql.js';

/**
 * docs/http-api.md's walkthrough (```sh walkthrough blocks) run as written against `npm run dev`'s
 * server on a fresh database, every answer compared with the one printed under its command. A block
 * tagged `webhook-404` runs against a server whose EMAIL_WEBHOOK_URL answers 404, as its text says.
 */
interface Step { command: string; answers: string[]; line: number }

/** A block's commands, each with the answer lines (`# {...}`) written under it. */
function steps(code: string, firstLine: number): Step[] {
  const result: Step[] = [];
  let command: string[] = [];
  code.split('\n').forEach((text, i) => {
    const answer = /^# (\{.*|\[.*)$/.exec(text);
    if (answer) {
      result.at(-1)!.answers.push(answer[1]!);
    } else if (text.trim() && !text.startsWith('#')) {
      command.push(text);
      if (!text.endsWith('\\') && !/[{[,(]$/.test(text)) {
        result.push({ command: command.join('\n'), answers: [], line: firstLine + i - command.length + 1 });
        command = [];
      }
    }
  });
  return result;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // the group has gone already
    }
  }
});

/** `npm run dev`, its data in SLUICE_DEV_DATA_DIR, no local cron: the walkthrough's own calls drive it. */
async function devServer(env: Record<string, string>) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/SECRET|EMAIL_WEBHOOK_URL|^SLUICE_/.test(k)));
  // In its own process group, as a terminal starts it, so that stopping it stops npm and the server alike.
  const child = spawn('npm', ['run', 'dev'], { cwd: ROOT, env: { ...inherited, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await waitFor('npm run dev to start', async () => {
    if (child.exitCode !== null) throw new Error(`npm run dev exited:\n${output}`);
    return output.includes('Sluice is running') ? true : undefined;
  }, 30_000);
  return { stop: async () => { process.kill(-child.pid!, 'SIGINT'); await exited; } };
}

describe('the HTTP API walkthrough in docs/http-api.md', () => {
  it('answers as documented, command by command', async () => {
    const blocks = codeBlocks(join(ROOT, 'docs', 'http-api.md')).filter((b) => b.tags.includes('walkthrough'));
    expect(blocks.length).toBe(2);
    const conn = await freshDatabase('pg', { migrated: false });
    await conn.close();
    const home = mkdtempSync(join(tmpdir(), 'sluice-walkthrough-'));
    mkdirSync(join(home, '.data'));
    const port = await freePort();
    let compared = 0;
    for (const block of blocks) {
      const env: Record<string, string> = { DATABASE_URL: conn.url, PORT: String(port), SLUICE_DEV_CRON_MS: '0', SLUICE_DEV_DATA_DIR: join(home, '.data') };
      if (block.tags.includes('webhook-404')) env.EMAIL_WEBHOOK_URL = `http://localhost:${port}/api/nowhere`;
      const server = await devServer(env);
      try {
        const all = steps(block.code, block.line);
        // curl prints an answer without a newline: each marker starts a line of its own.
        const script = all.map((s, i) => `echo; echo '@@step ${i}'\n${s.command}`).join('\n');
        const run = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { cwd: home, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH! } });
        expect(run.error, run.stderr).toBeUndefined();
        const outputs = run.stdout.split(/^@@step \d+\n/m).slice(1);
        expect(outputs.length, run.stderr).toBe(all.length);
        all.forEach((step, i) => {
          const printed = outputs[i]!.split('\n').filter(Boolean);
          const where = `${block.file}:${step.line}: ${step.command.split('\n')[0]}`;
          expect(printed.length, `${where}\nprinted:\n${printed.join('\n')}`).toBe(step.answers.length);
          step.answers.forEach((answer, j) => {
            expect(printed[j], `${where}\ndocumented: ${answer}`).toMatch(answerPattern(answer));
            compared++;
          });
        });
      } finally {
        await server.stop();
      }
    }
    expect(compared).toBe(30);
    rmSync(home, { recursive: true, force: true });
  });
});
