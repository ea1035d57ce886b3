/**
 * What `sluice init` writes into a Next.js app, and the paths it shares with `sluice dev`. The cron path
 * and route file are examples/nextjs's: one catch-all route file serves every Sluice path under /api.
 */

/** The drain tick Vercel Cron calls every minute (vercel.json), and `sluice dev` locally. */
export const CRON_PATH = '/api/cron/drain';

/** Packages next.config's serverExternalPackages must list (examples/nextjs/next.config.ts says why). */
export const EXTERNAL_PACKAGES = ['sluice', 'pg', '@neondatabase/serverless', 'ws', 'drizzle-orm'];

/** The app's one Sluice, with an example job whose payload fields are all optional. */
export const SLUICE_MODULE = `import { createSluice, defineJob } from 'sluice';
import { z } from 'zod';

/**
 * An example job. Enqueue it from a route or server action with
 * \`await sluice.enqueue('hello-world', { name: 'Ada' })\`, then \`after(() => sluice.kick())\` (from
 * 'next/server') to start it right after the response rather than at the next cron tick. Or over HTTP:
 * POST /api/jobs { "type": "hello-world", "payload": {} } with ENQUEUE_SECRET (that one kicks by itself).
 */
export const helloWorld = defineJob({
  type: 'hello-world',
  payload: z.object({ name: z.string().max(200).optional() }),
  handler: async ({ name }) => {
    console.log(\`Hello, \${name ?? 'world'}!\`);
  },
});

/**
 * The app's one Sluice: its job types, and a pool on DATABASE_URL opened on first use (so \`next build\`
 * needs no database). Secrets (ENQUEUE_SECRET, ADMIN_SECRET, CRON_SECRET) come from the environment.
 */
export const sluice = createSluice({ jobs: [helloWorld] });
`;

/**
 * The catch-all route file. No \`export const runtime\`: route handlers run on Node.js by default, and
 * with cacheComponents on (create-next-app's default) Next refuses a route's \`runtime\`.
 */
export const routeModule = (sluiceImport: string) => `import { nextHandlers } from 'sluice/next';
import { sluice } from '${sluiceImport}';

// Every Sluice path under /api (jobs, admin, queue stats, drains, the cron tick, health) from this one
// file; a more specific route file (app/api/signup/route.ts) still wins for its own path.
export const { GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS } = nextHandlers(sluice);

// Drains run up to the function's deadline.
export const maxDuration = 60;
`;
