// Placeholder until the JSON-lines logger lands (branch otel): the API it will keep.
import { loggable } from './errors.js';

type Fields = Record<string, unknown>;
const line = (level: string, msg: string, fields: Fields = {}) =>
  JSON.stringify({ time: new Date().toISOString(), level, msg, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? loggable(v) : v])) });

export const log = {
  debug: (_msg: string, _fields?: Fields) => {},
  info: (msg: string, fields?: Fields) => console.log(line('info', msg, fields)),
  warn: (msg: string, fields?: Fields) => console.error(line('warn', msg, fields)),
  error: (msg: string, fields?: Fields) => console.error(line('error', msg, fields)),
};
