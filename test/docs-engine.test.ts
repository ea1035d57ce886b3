import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase } from './support/db.js';
import { answerPattern, codeBlocks, ROOT } from './support/docs.js';
import { runProcess } from './support/processes.js';

/**
 * docs/engine.md's script (its ```ts run block) runs as written on a fresh database, with `sluice/engine`
 * pointed at lib/engine.ts (as the samples' type check does), and prints what its `// prints`
 * lines say, in order. It must also exit by itself: a pool left open would keep it running.
 */
describe('the engine script in docs/engine.md', () => {
  it('runs and prints what it documents', async () => {
    const [block, ...more] = codeBlocks(join(ROOT, 'docs', 'engine.md')).filter((b) => b.tags.includes('run'));
    expect(more).toEqual([]);
    const documented = block!.code.split('\n').flatMap((l) => /^\/\/ prints (.*)$/.exec(l)?.[1] ?? []);
    expect(documented.length).toBe(2);
    const dir = join(ROOT, 'node_modules', '.cache', 'sluice-docs-engine');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'send.mts');
    writeFileSync(script, block!.code.replace("from 'sluice/engine'", `from '${join(ROOT, 'lib', 'engine.ts')}'`));
    const conn = await freshDatabase('pg', { migrated: false });
    await conn.close();
    const started = Date.now();
    const printed = await runProcess(script, { DATABASE_URL: conn.url });
    expect(printed.length, printed.join('\n')).toBe(documented.length);
    documented.forEach((line, i) => expect(printed[i]).toMatch(answerPattern(line)));
    // Exited on its own, well before the pg pool's 10 s idle timeout would have let it go.
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});
