import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The default reporter plus one that fails a CI run in which any test was skipped.
    reporters: ['default', './test/support/no-skips-reporter.ts'],
    pool: 'forks',
    // Each file isolates itself (own Postgres schema and Redis prefix), so files run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
