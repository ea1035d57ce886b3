import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The lines of a .env file as Next.js reads them: KEY=value, an optional `export `, values in single,
 * double or back quotes (double quotes expand \n), # comments. No variable expansion: the CLI reads only
 * URLs and secrets, which a generator never writes with a $.
 */
export function parseEnv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const quoted = /^(['"`])([\s\S]*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, '\n') : quoted[2]!;
    else value = value.replace(/\s+#.*$/, '');
    values.set(m[1]!, value);
  }
  return values;
}

/** The files Next.js loads, first one wins: .env.$NODE_ENV.local, .env.local (not under test), .env.$NODE_ENV, .env. */
export function envFiles(nodeEnv = 'development'): string[] {
  return [`.env.${nodeEnv}.local`, ...(nodeEnv === 'test' ? [] : ['.env.local']), `.env.${nodeEnv}`, '.env'];
}

/**
 * The environment a command of the app in `dir` sees: the process's own variables, over the app's .env
 * files (as `next dev`/`next build` load them), without touching process.env.
 */
export function appEnv(dir: string, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  for (const file of envFiles(env.NODE_ENV || undefined).reverse()) {
    const path = join(dir, file);
    if (existsSync(path)) for (const [k, v] of parseEnv(readFileSync(path, 'utf8'))) merged[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}
