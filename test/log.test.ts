import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineJob, drain, enqueue, resetConfig } from '../lib/queue/index.js';
import { createLogger, formatLine, log, type LogLevel, type LogThreshold } from '../lib/queue/log.js';
import { freshDatabase } from './support/db.js';

/** A logger at `level` whose lines land in an array. */
function captured(level: LogThreshold) {
  const lines: { level: LogLevel; line: string }[] = [];
  return { lines, logger: createLogger({ level: () => level, write: (l, line) => void lines.push({ level: l, line }) }) };
}

/** What `log` (the process's logger) writes to stdout and stderr while `work` runs. */
async function stdio(work: () => Promise<unknown> | void) {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  try {
    await work();
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out, err };
}

describe('log', () => {
  afterEach(() => {
    delete process.env.SLUICE_LOG_LEVEL;
    delete process.env.SLUICE_LOG_PAYLOADS;
    resetConfig();
  });

  it('writes one JSON object per line: time, level, msg, then the fields', () => {
    const line = formatLine('info', 'drain', { claimed: 3, msg: 'not this one' }, new Date('2026-01-02T03:04:05.678Z'));
    expect(line).toBe('{"time":"2026-01-02T03:04:05.678Z","level":"info","msg":"drain","claimed":3}\n');
  });

  it('drops lines below the threshold; silent drops everything', () => {
    const { lines, logger } = captured('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => [l.level, JSON.parse(l.line).msg])).toEqual([['warn', 'w'], ['error', 'e']]);
    const quiet = captured('silent');
    quiet.logger.error('e');
    expect(quiet.lines).toEqual([]);
  });

  it("shows an error's name, message and stack on one line, never its other properties", () => {
    const error = Object.assign(new Error('connect failed'), { connectionString: 'postgres://u:hunter2@db/x', parameters: ['secret'] });
    const { lines, logger } = captured('debug');
    logger.error('database unavailable', { error });
    logger.warn('thrown object', { error: { password: 'hunter2' } });
    logger.warn('thrown error-like object', { error: { code: 'E1', message: 'went wrong', password: 'hunter2' } });
    for (const { line } of lines) {
      expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
      expect(line).not.toContain('hunter2');
    }
    const entry = JSON.parse(lines[0]!.line);
    expect(entry.error).toMatch(/^Error: connect failed\n\s+at /);
    expect(entry).not.toHaveProperty('connectionString');
    expect(JSON.parse(lines[1]!.line).error).toBe('a thrown [object Object]');
    expect(JSON.parse(lines[2]!.line).error).toBe('Error: went wrong');
  });

  it('never throws on fields JSON cannot hold', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const { lines, logger } = captured('info');
    logger.info('odd', { big: 1n, cycle });
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ level: 'info', msg: 'odd', unloggable: expect.stringContaining('BigInt') });
  });

  it('follows SLUICE_LOG_LEVEL; info and debug go to stdout, warn and error to stderr', async () => {
    process.env.SLUICE_LOG_LEVEL = 'debug';
    resetConfig();
    const { out, err } = await stdio(() => { log.debug('d'); log.info('i'); log.warn('w'); log.error('e'); });
    expect(out.map((l) => JSON.parse(l).msg)).toEqual(['d', 'i']);
    expect(err.map((l) => JSON.parse(l).msg)).toEqual(['w', 'e']);
    process.env.SLUICE_LOG_LEVEL = 'error';
    resetConfig();
    const quieter = await stdio(() => { log.info('i'); log.warn('w'); log.error('e'); });
    expect([...quieter.out, ...quieter.err].map((l) => JSON.parse(l).msg)).toEqual(['e']);
  });

  describe('a job gone dead', () => {
    let conn: Awaited<ReturnType<typeof freshDatabase>>;
    beforeAll(async () => { conn = await freshDatabase('pg'); });
    afterAll(async () => { await conn?.close(); });

    const doomed = defineJob({
      type: 'log-doomed', payload: z.object({ email: z.string() }), maxAttempts: 1,
      handler: async () => { throw new Error('mailbox full'); },
    });
    const deadLine = async () => {
      await conn.db.execute(sql`truncate sluice.jobs`);
      const { id } = await enqueue(conn.db, doomed, { email: 'private@example.com' });
      const { out, err } = await stdio(() => drain(conn.db, [doomed], { budgetMs: 5_000 }));
      expect(out).toEqual([]);
      expect(err).toHaveLength(1);
      return { id, line: err[0]!, entry: JSON.parse(err[0]!) };
    };

    it('is one warn line naming the job and its error, without its payload', async () => {
      const { id, line, entry } = await deadLine();
      expect(entry).toMatchObject({ level: 'warn', msg: 'job dead', jobId: id, type: 'log-doomed', attempt: 1, maxAttempts: 1, error: 'attempt 1/1: Error: mailbox full' });
      expect(line).not.toContain('private@example.com');
      expect(entry).not.toHaveProperty('payload');
    });

    it('shows the payload when SLUICE_LOG_PAYLOADS asks for it', async () => {
      process.env.SLUICE_LOG_PAYLOADS = 'true';
      resetConfig();
      expect((await deadLine()).entry.payload).toEqual({ email: 'private@example.com' });
    });
  });
});
