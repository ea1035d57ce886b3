import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../lib/cli/env.js';
import { fixtureDir, nextAppFiles, runCli, runCliInTerminal, sluiceHere } from './support/cli.js';

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');
const ROUTE = 'api/[...sluice]/route.ts';

describe('sluice init', () => {
  for (const [layout, src] of [['app/', false], ['src/app/', true]] as const) {
    for (const cacheComponents of [true, false]) {
      it(`sets up an app with ${layout}, cacheComponents ${cacheComponents ? 'on' : 'off'}`, async () => {
        const dir = fixtureDir(nextAppFiles({ src, cacheComponents }));
        const run = await sluiceHere(['init', '--dir', dir]);
        expect(run.code, run.stderr).toBe(0);
        const prefix = src ? 'src/' : '';
        expect(read(dir, `${prefix}lib/sluice.ts`)).toContain("type: 'hello-world'");
        const route = read(dir, `${prefix}app/${ROUTE}`);
        expect(route).toContain("import { sluice } from '@/lib/sluice';");
        expect(route).not.toMatch(/export const runtime/);
        expect(JSON.parse(read(dir, 'vercel.json')).crons).toEqual([{ path: '/api/cron/drain', schedule: '* * * * *' }]);
        const env = parseEnv(read(dir, '.env.local'));
        for (const key of ['ENQUEUE_SECRET', 'ADMIN_SECRET', 'CRON_SECRET']) expect(env.get(key)).toMatch(/^[\w-]{32}$/);
        expect(env.get('DATABASE_URL')).toBeDefined();
        const pkg = JSON.parse(read(dir, 'package.json'));
        expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['sluice', 'zod', 'next']));
        expect(pkg.scripts['vercel-build']).toBe('sluice migrate && npm run build');
        const config = read(dir, 'next.config.ts');
        expect(config).toContain("serverExternalPackages: ['sluice', 'pg', '@neondatabase/serverless', 'ws', 'drizzle-orm'],");
        expect(config.includes('cacheComponents: true')).toBe(cacheComponents);
        expect(run.stdout).toContain(`cacheComponents ${cacheComponents ? 'on' : 'off'}`);
        expect(run.stdout).toContain('Next steps:');

        // A second run finds everything in place and changes nothing.
        const before = ['vercel.json', '.env.local', 'package.json', 'next.config.ts'].map((f) => read(dir, f));
        expect((await sluiceHere(['init', '--yes', '--dir', dir])).code).toBe(0);
        expect(['vercel.json', '.env.local', 'package.json', 'next.config.ts'].map((f) => read(dir, f))).toEqual(before);
      });
    }
  }

  it('merges an existing vercel.json and .env.local, keeping every key and value there', async () => {
    const dir = fixtureDir({
      ...nextAppFiles(),
      'vercel.json': JSON.stringify({ crons: [{ path: '/api/report', schedule: '0 5 * * *' }], regions: ['fra1'] }),
      '.env.local': 'CRON_SECRET=mine-mine-mine-mine-1234\nOTHER="kept"',
    });
    expect((await sluiceHere(['init', '--dir', dir])).code).toBe(0);
    const vercel = JSON.parse(read(dir, 'vercel.json'));
    expect(vercel).toEqual({ crons: [{ path: '/api/report', schedule: '0 5 * * *' }, { path: '/api/cron/drain', schedule: '* * * * *' }], regions: ['fra1'] });
    const text = read(dir, '.env.local');
    expect(text.startsWith('CRON_SECRET=mine-mine-mine-mine-1234\nOTHER="kept"\n')).toBe(true);
    const env = parseEnv(text);
    expect([env.get('CRON_SECRET'), env.get('OTHER')]).toEqual(['mine-mine-mine-mine-1234', 'kept']);
    expect([...env.keys()].sort()).toEqual(['ADMIN_SECRET', 'CRON_SECRET', 'DATABASE_URL', 'ENQUEUE_SECRET', 'OTHER']);
  });

  it('leaves a file of the user\'s without a terminal to ask, and says so; --force replaces it', async () => {
    const dir = fixtureDir({ ...nextAppFiles(), 'lib/sluice.ts': 'export const mine = 1;\n' });
    const run = await sluiceHere(['init', '--dir', dir]);
    expect(run.code).toBe(0);
    expect(read(dir, 'lib/sluice.ts')).toBe('export const mine = 1;\n');
    expect(run.stdout).toContain('lib/sluice.ts: exists, left as it is (no terminal to ask; --force replaces it)');
    expect(existsSync(join(dir, `app/${ROUTE}`))).toBe(true);

    expect((await sluiceHere(['init', '--force', '--dir', dir])).code).toBe(0);
    expect(read(dir, 'lib/sluice.ts')).toContain("type: 'hello-world'");
  });

  it('asks before replacing a file of the user\'s when it has a terminal: no keeps it, yes replaces it', async () => {
    const files = { ...nextAppFiles(), 'lib/sluice.ts': 'export const mine = 1;\n' };
    const [kept, replaced] = [fixtureDir(files), fixtureDir(files)];
    const [no, yes] = await Promise.all([runCliInTerminal(['init'], { cwd: kept, answer: 'n' }), runCliInTerminal(['init'], { cwd: replaced, answer: 'y' })]);
    for (const run of [no, yes]) expect([run.code, run.stdout]).toEqual([0, expect.stringContaining("lib/sluice.ts exists. Replace it with Sluice's? [y/N]")]);
    expect(no.stdout).toContain('lib/sluice.ts: exists, left as it is\r\n');
    expect(read(kept, 'lib/sluice.ts')).toBe('export const mine = 1;\n');
    expect(yes.stdout).toContain('lib/sluice.ts: written');
    expect(read(replaced, 'lib/sluice.ts')).toContain("type: 'hello-world'");
  });

  it('prints the line for a next.config it cannot edit safely, and keeps the user\'s own sluice dependency', async () => {
    const files = nextAppFiles();
    const pkg = JSON.parse(files['package.json']!);
    pkg.dependencies.sluice = 'file:../sluice.tgz';
    pkg.scripts['vercel-build'] = 'next build';
    const dir = fixtureDir({ ...files, 'package.json': JSON.stringify(pkg), 'next.config.ts': 'export default { serverExternalPackages: ["pg"] };\n' });
    const run = await sluiceHere(['init', '--dir', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("add to next.config.ts: serverExternalPackages: ['sluice', 'pg'");
    expect(read(dir, 'next.config.ts')).toBe('export default { serverExternalPackages: ["pg"] };\n');
    const after = JSON.parse(read(dir, 'package.json'));
    expect([after.dependencies.sluice, after.scripts['vercel-build']]).toEqual(['file:../sluice.tgz', 'next build']);
  });

  it('says in one line when there is no Next.js app, no App Router folder, no TypeScript, or a vercel.json it cannot read', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'README.md': 'hi' }, /^sluice: no Next\.js app found in .* \(no package\.json\)/],
      [{ 'package.json': '{"dependencies":{"react":"19"}}' }, /^sluice: no Next\.js app found in .*package\.json does not depend on next/],
      [{ ...nextAppFiles(), 'app/page.tsx': undefined as never, 'pages/index.tsx': 'x' }, /^sluice: no App Router folder/],
      [{ ...nextAppFiles(), 'tsconfig.json': undefined as never }, /has no tsconfig\.json/],
      [{ ...nextAppFiles(), 'vercel.json': '{ "crons": [' }, /^sluice: vercel\.json is not valid JSON \(.*\): fix it, then run sluice init again/],
    ];
    const runs = await Promise.all(cases.map(([files]) =>
      runCli(['init'], { cwd: fixtureDir(Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined))) })));
    runs.forEach((run, i) => {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});
