#!/usr/bin/env node
// Node >= 22.18 runs the TypeScript sources directly (type stripping); there is no build step.
// An older Node would die loading the first .ts file with ERR_UNKNOWN_FILE_EXTENSION and a stack
// trace, so the version is checked first and main.ts is imported only after (a static import
// would be loaded before any line here runs).
import { nodeVersionProblem } from './node-version-problem.js';

const problem = nodeVersionProblem({
  version: process.versions.node,
  typeStripping: process.features.typescript,
  command: process.argv[2],
});
if (problem) {
  process.stderr.write(`gatehouse: ${problem}\n`);
  process.exit(1);
}
await import('../src/cli/main.ts');
