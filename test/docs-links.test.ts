import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docFiles, ROOT } from './support/docs.js';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

/** A file's headings' anchors (code blocks left out: a `# comment` in a shell sample is no heading). */
function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Markdown links and image sources outside code: `[text](target)` and `src="target"`. */
function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)].map((m) => m[1] ?? m[2]!);
}

describe('the docs', () => {
  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      for (const target of links(file)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#');
        const resolved = path ? join(dirname(file), path) : file;
        if (!existsSync(resolved)) broken.push(`${relative(ROOT, file)}: ${target} (no such file)`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${relative(ROOT, file)}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('list every setting of lib/queue/config.ts in docs/configuration.md, and no other', () => {
    const settings = [...readFileSync(join(ROOT, 'lib', 'queue', 'config.ts'), 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
    const documented = [...readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8').matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
    expect(settings.length).toBeGreaterThan(30);
    expect(documented.sort()).toEqual(settings.sort());
  });

  it('tell no internal history (issue numbers, "today\'s runs", "the commit before ...")', () => {
    const history = /\bissues? #?\d|\btoday\b|\bcommit before\b|\bthis session\b|\bsessions? of work\b/i;
    const found = docFiles().flatMap((file) => readFileSync(file, 'utf8').split('\n')
      .flatMap((line, i) => (history.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])));
    expect(found).toEqual([]);
  });
});
