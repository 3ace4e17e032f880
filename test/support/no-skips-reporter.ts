import type { Reporter, TestModule } from 'vitest/node';

/** With real servers configured (CI), a skipped test is a failure: nothing may pass by not running. */
export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const strict = Boolean(process.env.CI || (process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL));
    const skipped = testModules.flatMap((m) =>
      [...m.children.allTests()].filter((t) => t.result().state === 'skipped').map((t) => `${m.moduleId}: ${t.fullName}`),
    );
    if (skipped.length === 0) return;
    if (strict) {
      process.stderr.write(`\n${skipped.length} test(s) skipped while real servers are configured:\n${skipped.join('\n')}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`\n${skipped.length} test(s) skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to run them\n`);
    }
  }
}
