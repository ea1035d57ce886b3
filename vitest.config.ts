import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The runtimes suite (next build, the Vercel CLI) is slow: npm run test:runtimes, vitest.runtimes.config.ts.
    // The browser suite needs Chromium: npm run test:browser, vitest.browser.config.ts.
    exclude: ['test/runtimes/**', 'test/browser/**', '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    // Type tests (test/*.test-d.ts: expectTypeOf, @ts-expect-error) run through tsc as part of npm test.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.type-tests.json' },
    // Each file works in its own database, so files run in parallel safely.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
