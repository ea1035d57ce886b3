import { randomBytes } from 'node:crypto';
import { CRON_PATH, EXTERNAL_PACKAGES } from '../app-files.js';
import { DATABASE_URL_PLACEHOLDER } from '../database.js';
import { parseEnv } from '../env.js';
import { CliError } from '../errors.js';

// The additive edits `sluice init` makes to an app's existing files: each takes the file's text
// (undefined when it does not exist) and returns the new text and what it added, or undefined when
// nothing needs adding or it cannot add safely. None removes or changes anything already there.

export interface Edit { text: string; added: string[] }

/** A JSON file of the app's, or a one-line CliError naming it: init never edits a file it cannot read. */
export function parseJson<T>(file: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${(error as Error).message}): fix it, then run sluice init again`);
  }
}

/** vercel.json with the per-minute cron on CRON_PATH. */
export function addCron(text: string | undefined): Edit | undefined {
  const json = text === undefined ? { $schema: 'https://openapi.vercel.sh/vercel.json' } : parseJson<{ crons?: { path: string; schedule: string }[] }>('vercel.json', text);
  const crons = ('crons' in json ? json.crons : undefined) ?? [];
  if (crons.some((c) => c.path === CRON_PATH)) return undefined;
  const merged = { ...json, crons: [...crons, { path: CRON_PATH, schedule: '* * * * *' }] };
  return { text: `${JSON.stringify(merged, null, 2)}\n`, added: [`the cron ${CRON_PATH} (every minute)`] };
}

/** A secret as Sluice wants one: at least 16 characters, no whitespace (32 here). */
const secret = () => randomBytes(24).toString('base64url');

/** .env.local with the local secrets and a DATABASE_URL placeholder appended, for the keys it lacks. */
export function addEnv(text: string | undefined): Edit | undefined {
  const have = parseEnv(text ?? '');
  const wanted: [string, string][] = [
    ['ENQUEUE_SECRET', secret()], ['ADMIN_SECRET', secret()], ['CRON_SECRET', secret()], ['DATABASE_URL', DATABASE_URL_PLACEHOLDER],
  ];
  const missing = wanted.filter(([k]) => !have.has(k));
  if (missing.length === 0) return undefined;
  const before = text === undefined || text === '' ? '' : text.endsWith('\n') ? text : `${text}\n`;
  const lines = missing.map(([k, v]) => `${k}=${v}`).join('\n');
  return { text: `${before}# Sluice (sluice init): local secrets, and your Postgres connection string\n${lines}\n`, added: missing.map(([k]) => k) };
}

/** package.json with sluice (and zod) among the dependencies and a vercel-build script that migrates first. */
export function addToPackageJson(text: string, versions: { sluice: string; zod: string }): Edit | undefined {
  const pkg = parseJson<{ dependencies?: Record<string, string>; devDependencies?: Record<string, string>; scripts?: Record<string, string> }>('package.json', text);
  const added: string[] = [];
  const has = (name: string) => Boolean(pkg.dependencies?.[name] ?? pkg.devDependencies?.[name]);
  for (const [name, version] of Object.entries(versions)) {
    if (has(name)) continue;
    pkg.dependencies = { ...pkg.dependencies, [name]: version };
    added.push(`${name} to dependencies`);
  }
  // Vercel runs vercel-build instead of build when there is one: deploys migrate, local builds need no database.
  if (!pkg.scripts?.['vercel-build']) {
    pkg.scripts = { ...pkg.scripts, 'vercel-build': 'sluice migrate && npm run build' };
    added.push('the script vercel-build (sluice migrate && npm run build)');
  }
  if (added.length === 0) return undefined;
  return { text: `${JSON.stringify(pkg, null, 2)}\n`, added };
}

/** The line next.config needs, for the user to add when addExternalPackages cannot. */
export const EXTERNAL_PACKAGES_LINE = `serverExternalPackages: [${EXTERNAL_PACKAGES.map((p) => `'${p}'`).join(', ')}],`;

/**
 * next.config with serverExternalPackages, inserted into an object literal `const nextConfig = {` (the
 * shape create-next-app writes). undefined when it lists them already; 'manual' for any other shape,
 * or a serverExternalPackages of the user's own, which only a person should edit.
 */
export function addExternalPackages(text: string): Edit | 'manual' | undefined {
  if (/serverExternalPackages/.test(text)) return EXTERNAL_PACKAGES.every((p) => text.includes(`'${p}'`) || text.includes(`"${p}"`)) ? undefined : 'manual';
  const opening = /(const\s+nextConfig(?:\s*:\s*NextConfig)?\s*=\s*\{)([ \t]*\r?\n)?/g;
  const matches = [...text.matchAll(opening)];
  if (matches.length !== 1) return 'manual';
  const m = matches[0]!;
  const at = m.index + m[0].length;
  const line = `  // Loaded from node_modules, not bundled: the database drivers, and Sluice, which finds its migrations beside its files.\n  ${EXTERNAL_PACKAGES_LINE}\n`;
  return { text: `${text.slice(0, at)}${m[2] ? '' : '\n'}${line}${text.slice(at)}`, added: ['serverExternalPackages'] };
}
