import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The default reporter plus one that fails a CI run in which any test was skipped.
    reporters: ['default', './test/support/no-skips-reporter.ts'],
    pool: 'forks',
    // Each file isolates its storage itself (own Postgres schema and Redis prefix), so files run in
    // parallel, and a worker keeps its loaded modules from one file to the next (isolate: false):
    // loading the server again for every file was 16 % of the suite's time. Nothing in src/ keeps
    // state at module level (every cache, registry and pool belongs to an instance), and a test that
    // fakes a timer or a global puts it back in its own finally.
    isolate: false,
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
