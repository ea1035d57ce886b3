import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allCodeBlocks, type CodeBlock, ROOT } from './support/docs.js';

/**
 * Every ```ts / ```typescript block of README.md and docs/*.md is type-checked against the package's
 * sources, as an app would import them (`sluice` -> lib/index.ts, `sluice/engine` -> lib/engine.ts,
 * `sluice/next` -> lib/adapters/next.ts ...), all in one TypeScript program. Samples import what they
 * do not show from docs/samples/ (`./jobs` or `@/lib/sluice`, `./app` or `@/db/schema`). Tags after the language:
 * `fragment` skips a block (keep it rare: the count below is asserted). A sample may show a compile
 * error under `// @ts-expect-error`: the check then fails if the error goes away.
 */
const CHECKED = 30; // raise it with every sample you add; a drop means samples went unchecked
const FRAGMENTS = 1;

const isTs = (b: CodeBlock) => b.lang === 'ts' || b.lang === 'typescript';
const dir = join(ROOT, 'node_modules', '.cache', 'sluice-docs-samples');

const ENTRIES: Record<string, string> = {
  sluice: 'lib/index.ts',
  'sluice/engine': 'lib/engine.ts',
  'sluice/next': 'lib/adapters/next.ts',
  'sluice/vercel': 'lib/adapters/vercel.ts',
  'sluice/node': 'lib/adapters/node.ts',
  'sluice/aws-lambda': 'lib/adapters/aws-lambda.ts',
  '@/lib/sluice': `${relative(ROOT, dir)}/jobs.ts`,
  '@/db/schema': `${relative(ROOT, dir)}/app.ts`,
};

describe('the docs\' TypeScript samples', () => {
  it('type-check against the package, as written', () => {
    const blocks = allCodeBlocks().filter(isTs);
    const checked = blocks.filter((b) => !b.tags.includes('fragment'));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(ROOT, 'docs', 'samples'), dir, { recursive: true });
    const files = new Map<string, CodeBlock>();
    checked.forEach((b, i) => {
      const file = join(dir, `sample-${i}.ts`);
      // `export {}` makes a sample without imports a module too, so samples never share top-level names.
      writeFileSync(file, `${b.code}\nexport {};\n`);
      files.set(file, b);
    });
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      types: ['node'],
      baseUrl: ROOT,
      paths: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, [path]])),
    };
    const roots = [...files.keys(), ...readdirSync(dir).filter((f) => f.endsWith('.d.ts')).map((f) => join(dir, f)),
      join(ROOT, 'lib', 'adapters', 'next-server.d.ts')];
    const program = ts.createProgram(roots, options);
    const errors: string[] = [];
    const report = (source: ts.SourceFile, where: (line: number) => string) => {
      for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const { line } = source.getLineAndCharacterOfPosition(d.start ?? 0);
        errors.push(`${where(line)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      }
    };
    for (const [file, block] of files) report(program.getSourceFile(file)!, (line) => `${block.file}:${block.line + line}`);
    // The stand-ins the samples import are checked too: an error there would only show as a puzzling one in a sample.
    for (const source of program.getSourceFiles()) {
      if (source.fileName.startsWith(`${dir}/`) && !files.has(source.fileName)) {
        report(source, (line) => `docs/samples/${relative(dir, source.fileName)}:${line + 1}`);
      }
    }
    expect(errors).toEqual([]);
    expect({ checked: checked.length, fragments: blocks.length - checked.length }).toEqual({ checked: CHECKED, fragments: FRAGMENTS });
  });
});
