import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The secrets npm run dev needs; DRAIN_SECRET falls back to CRON_SECRET, so it is not made up. */
const NAMES = ['ENQUEUE_SECRET', 'ADMIN_SECRET', 'CRON_SECRET'] as const;

export interface DevSecret {
  name: string;
  value: string;
  /** env: the caller's environment (never printed); file: kept from an earlier run; generated: new. */
  source: 'env' | 'file' | 'generated';
}

/**
 * Fills in the secrets the environment leaves unset, from `file` (a shell script of export lines, so
 * `source .data/dev.env` gives a shell the same secrets) or freshly generated (saveDevEnv keeps them).
 * Sets them in process.env.
 */
export function loadDevSecrets(file: string): DevSecret[] {
  const saved = new Map<string, string>();
  if (existsSync(file)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^export (\w+)=([\w-]+)$/gm)) saved.set(m[1]!, m[2]!);
  }
  const secrets: DevSecret[] = NAMES.map((name) => {
    const fromEnv = process.env[name];
    if (fromEnv) return { name, value: fromEnv, source: 'env' };
    const kept = saved.get(name);
    return kept ? { name, value: kept, source: 'file' } : { name, value: `dev_${randomBytes(18).toString('base64url')}`, source: 'generated' };
  });
  for (const s of secrets) process.env[s.name] = s.value;
  return secrets;
}

/**
 * Writes `file`: BASE (this run's URL, so docs/http-api.md's curl walkthrough works with any PORT) and the
 * secrets npm run dev made up. Secrets from the caller's environment are theirs: never written.
 */
export function saveDevEnv(file: string, secrets: DevSecret[], base: string): void {
  const lines = [`export BASE=${base}`, ...secrets.filter((s) => s.source !== 'env').map((s) => `export ${s.name}=${s.value}`)];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `# Written by npm run dev. \`source ${file}\` to use its URL and local secrets in a shell.\n${lines.join('\n')}\n`, { mode: 0o600 });
}
