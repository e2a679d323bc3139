import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deadlines, not timing figures: generous, so that a machine whose cores are busy elsewhere
    // (shared CI, npm run test:stress) still passes; a hang still fails.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
