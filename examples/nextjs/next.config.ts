import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // As create-next-app's template has it: the route files must build with it on (no `runtime` export).
  cacheComponents: true,
  partialPrefetching: true,
  // Loaded from node_modules at run time instead of bundled: the database drivers (native-ish, and ws
  // is optional-dependency heavy), drizzle-orm (one copy shared by Sluice and the app's schema), and
  // Sluice itself, whose migrate() finds its migrations beside its own files (new URL('../../drizzle',
  // import.meta.url)), which a bundle would move.
  serverExternalPackages: ['sluice', 'pg', '@neondatabase/serverless', 'ws', 'drizzle-orm'],
  // This folder is its own project (its own package-lock.json): don't let Next guess the repository root.
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
};

export default nextConfig;
