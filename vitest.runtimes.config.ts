import { defineConfig } from 'vitest/config';

/**
 * The slow suite: test/http/suite.ts's HTTP checks against each runtime that serves Sluice
 * (test/runtimes/*.test.ts: npm run dev, the Vercel CLI's vercel dev, ...), one runtime at a time, and
 * checks that take minutes by nature (workflow-time-limits: ten 5 s steps under a 30 s function limit).
 * `npm run test:runtimes`; one runtime: `npm run test:runtimes -- vercel`.
 */
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    // test/support/global-setup.ts, and a failed run exits non-zero (see test/runtimes/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    env: { SLUICE_RUNTIME_SUITE: '1' },
    // Runtimes start servers of their own; vercel dev forks a process per request. One file at a time.
    fileParallelism: false,
    // vercel dev compiles each function on its first request: a minute or two on a cold machine.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
