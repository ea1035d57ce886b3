import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { dirname, join } from 'node:path';

/**
 * How `sluice init` treats a file of the user's it would replace: with a terminal, it asks; without
 * one (or with --yes) it skips and says so; --force replaces.
 */
export interface WritePolicy { dir: string; force: boolean; interactive: boolean; report: (line: string) => void }

export type WriteResult = 'written' | 'unchanged' | 'skipped';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Writes a whole file `sluice init` generates (`rel` under the app), asking before replacing another one. */
export async function writeGenerated(policy: WritePolicy, rel: string, text: string): Promise<WriteResult> {
  const path = join(policy.dir, rel);
  if (existsSync(path)) {
    if (readFileSync(path, 'utf8') === text) {
      policy.report(`${rel}: up to date`);
      return 'unchanged';
    }
    const replace = policy.force || (policy.interactive && (await confirm(`${rel} exists. Replace it with Sluice's?`)));
    if (!replace) {
      policy.report(`${rel}: exists, left as it is${policy.interactive ? '' : ' (no terminal to ask; --force replaces it)'}`);
      return 'skipped';
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  policy.report(`${rel}: written`);
  return 'written';
}

/** Applies an additive edit (init/edits.ts) to `rel` under the app: only when it adds something. */
export function applyEdit(policy: WritePolicy, rel: string, edit: (text: string | undefined) => { text: string; added: string[] } | undefined): boolean {
  const path = join(policy.dir, rel);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const result = edit(before);
  if (!result) {
    policy.report(`${rel}: has what Sluice needs`);
    return false;
  }
  writeFileSync(path, result.text, rel === '.env.local' ? { mode: 0o600 } : {});
  policy.report(`${rel}: ${before === undefined ? 'created with' : 'added'} ${result.added.join(', ')}`);
  return true;
}
