/**
 * Sluice's log: one JSON object per line, `{"time","level","msg",...fields}`; debug and info to stdout,
 * warn and error to stderr, below SLUICE_LOG_LEVEL dropped (docs/tracing.md).
 * Not pino: its transports run in worker threads (thread-stream), which Next.js' bundling breaks unless
 * the app lists them in serverExternalPackages; a JSON-lines writer this size has no such issue, and
 * Vercel, Lambda and every log drain parse JSON lines as they come.
 * Lines never hold payloads or secrets: errors go through loggable() (name, message, stack, never the
 * error's other properties), and the one line that may show a payload does so only under SLUICE_LOG_PAYLOADS.
 */
import { config } from './config.js';
import { loggable } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogThreshold = LogLevel | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  /** The threshold, asked at each line. Default: SLUICE_LOG_LEVEL, from the environment. */
  level?: () => LogThreshold;
  /** Where lines go. Default: process.stdout for debug and info, process.stderr for warn and error. */
  write?: (level: LogLevel, line: string) => void;
}

/** The environment's level; a logger must never throw, so an environment that does not parse logs at info. */
function envLevel(): LogThreshold {
  try {
    return config().SLUICE_LOG_LEVEL;
  } catch {
    return 'info';
  }
}

const stdio = (level: LogLevel, line: string) => void (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(line);

/** The line for one entry: time, level and msg first, then the fields, errors as loggable() text. */
export function formatLine(level: LogLevel, msg: string, fields: LogFields | undefined, now = new Date()): string {
  const entry: Record<string, unknown> = { time: now.toISOString(), level, msg };
  for (const key in fields) {
    if (key in entry || !Object.hasOwn(fields, key)) continue; // fields never hide time, level or msg
    const value = fields[key];
    // `error` is whatever a catch caught: loggable() for anything there, not only Errors (a thrown plain
    // object could hold a connection string).
    entry[key] = value instanceof Error || key === 'error' ? loggable(value) : value;
  }
  try {
    return `${JSON.stringify(entry)}\n`;
  } catch (error) {
    // A BigInt or a cycle among the fields: the line still goes out, without them.
    return `${JSON.stringify({ time: entry.time, level, msg, unloggable: loggable(error) })}\n`;
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? envLevel;
  const write = options.write ?? stdio;
  const at = (l: LogLevel) => (msg: string, fields?: LogFields) => {
    if (RANK[l] < RANK[level()]) return;
    write(l, formatLine(l, msg, fields));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The process's log. */
export const log: Logger = createLogger();
