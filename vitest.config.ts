import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deadlines, not timing figures: generous, so that a machine whose cores are busy elsewhere
    // (shared CI, npm run test:stress) still passes; a hang still fails.
    testTimeout: 180_000,
    // Two test files at a time whatever the cores (vitest would run one on a 2-core machine): most of
    // the suite waits on real-time streams, child processes and servers rather than computing, and
    // the tests must pass with every core busy anyway. It halves the suite's time.
    maxWorkers: 2,
    hookTimeout: 180_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
