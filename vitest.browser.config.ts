import { defineConfig } from 'vitest/config';

/**
 * The browser suite: the dashboard in a real Chromium (playwright-core driving the system's chromium,
 * /usr/bin/chromium or CHROMIUM_PATH; .ci/run installs Debian's package). `npm run test:browser`.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // A cold Chromium start and a page's first paint take seconds on a slow machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
