import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The user docs the tests hold to their word: README.md and docs/*.md (docs/api/ is TypeDoc's output,
 * generated from the doc comments, so it is checked by its own build, not here).
 */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs.sort()];
}

/** A fenced code block: its file, the line of its first code line, and its info string's words. */
export interface CodeBlock {
  file: string;
  /** 1-based line in `file` of the block's first line of code. */
  line: number;
  lang: string;
  /** Words after the language: `ts fragment`, `sh walkthrough`, `ts run` (invisible on GitHub). */
  tags: string[];
  code: string;
}

/** Every fenced block of one markdown file (``` fences; nested fences are not used in the docs). */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    blocks.push({
      file: relative(ROOT, file),
      line: start + 1,
      lang: open[2]!,
      tags: open[3]!.split(/\s+/).filter(Boolean),
      code: lines.slice(start, end).map((l) => l.slice(Math.min(indent, /^\s*/.exec(l)![0].length))).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/** Every block of every doc file. */
export const allCodeBlocks = (): CodeBlock[] => docFiles().flatMap(codeBlocks);

/**
 * A documented answer as a pattern: the text as written, where `…` stands for anything (an id, a
 * time, the rest of an object). The whole line must match.
 */
export function answerPattern(documented: string): RegExp {
  const parts = documented.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*?')}$`, 's');
}
