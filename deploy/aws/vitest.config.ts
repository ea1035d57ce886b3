import { defineConfig } from 'vitest/config';

// deploy/aws's own tests (npm test here): the stack synthesized offline. Not the root's suite (no Postgres).
export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
