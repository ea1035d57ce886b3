import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { routeModule, SLUICE_MODULE } from '../app-files.js';
import { findNextApp } from '../init/app.js';
import { addCron, addEnv, addExternalPackages, addToPackageJson, EXTERNAL_PACKAGES_LINE } from '../init/edits.js';
import { nextSteps } from '../init/next-steps.js';
import { applyEdit, writeGenerated, type WritePolicy } from '../init/write.js';

interface InitOptions { dir: string; yes?: boolean; force?: boolean }

/** Sluice's own version and its zod's, for the app's dependencies. */
function versions(): { sluice: string; zod: string } {
  const own = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; dependencies: { zod: string } };
  return { sluice: `^${own.version}`, zod: `^${own.dependencies.zod.replace(/^\D*/, '')}` };
}

/** `sluice init`: Sluice in an existing Next.js App Router app (see init/ for each part). */
export function initCommand(program: Command): void {
  program
    .command('init')
    .description('set up Sluice in a Next.js App Router app: lib/sluice.ts, the route file, the cron, secrets, migrate on deploy')
    .option('--dir <dir>', 'the app folder', '.')
    .option('-y, --yes', 'ask nothing: leave existing files as they are (as without a terminal)')
    .option('--force', 'replace existing files sluice init would write (lib/sluice.ts, the route file) without asking')
    .action(async (opts: InitOptions) => {
      const app = findNextApp(opts.dir);
      const policy: WritePolicy = {
        dir: app.dir,
        force: Boolean(opts.force),
        interactive: !opts.yes && Boolean(process.stdin.isTTY && process.stdout.isTTY),
        report: (line) => console.log(`  ${line}`),
      };
      console.log(`Setting up Sluice in ${app.dir} (${app.appDir}/, cacheComponents ${app.cacheComponents ? 'on' : 'off'}):`);
      await writeGenerated(policy, `${app.libDir}/sluice.ts`, SLUICE_MODULE);
      await writeGenerated(policy, `${app.appDir}/api/[...sluice]/route.ts`, routeModule(app.sluiceImport));
      applyEdit(policy, 'vercel.json', addCron);
      applyEdit(policy, '.env.local', addEnv);
      const packageChanged = applyEdit(policy, 'package.json', (text) => addToPackageJson(text!, versions()));
      let configLine: string | undefined;
      if (!app.nextConfig) configLine = `create next.config.ts with ${EXTERNAL_PACKAGES_LINE}`;
      else {
        const edit = addExternalPackages(readFileSync(join(app.dir, app.nextConfig), 'utf8'));
        if (edit === 'manual') configLine = `add to ${app.nextConfig}: ${EXTERNAL_PACKAGES_LINE}`;
        else applyEdit(policy, app.nextConfig, () => edit);
      }
      console.log(nextSteps({ install: packageChanged, configLine }));
    });
}
