import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../bin/node-version-problem.js';
import { repoRoot } from './support/gatehouse-process.ts';

/** A Node older than 22 on this machine (Debian's is 20), to run the entry point as a user would. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.replace(/^v/, '').split('.')[0]) < 22) return candidate;
  }
  return undefined;
}

/**
 * `node bin/gatehouse.js serve`, as `npm start` runs it. Should the check ever let it through, the
 * server it starts stays off port 3000 and out of ./data, and is killed at the timeout.
 */
function start(node: string, nodeArgs: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-node-'));
  try {
    return spawnSync(node, [...nodeArgs, 'bin/gatehouse.js', 'serve'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', DATA_DIR: dataDir },
      timeout: 20_000,
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function expectOneLineRefusal(result: ReturnType<typeof start>, version: string) {
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
  expect(result.stderr).toContain('22.18 or newer');
  expect(result.stderr).toContain(`this is Node.js ${version}`);
  expect(result.stderr).toContain('npx -y node@24 bin/gatehouse.js serve');
  expect(result.stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|^\s+at /m);
}

describe('the Node.js version check before anything in TypeScript loads', () => {
  it('names what is needed, what runs and how to get Node 24, for Node older than 22.18', () => {
    for (const version of ['18.19.1', '20.20.2', '22.17.1']) {
      const problem = nodeVersionProblem({ version, typeStripping: undefined, command: 'serve' });
      expect(problem).toMatch(new RegExp(`^needs Node\\.js 22\\.18 or newer, this is Node\\.js ${version.replaceAll('.', '\\.')}: `));
      expect(problem).toContain('nvm install 24');
      expect(problem).toContain('https://nodejs.org');
      expect(problem).toContain('`npx -y node@24 bin/gatehouse.js serve`');
    }
    // Any other command: the hint does not echo its arguments (they may hold a password).
    expect(nodeVersionProblem({ version: '20.20.2', typeStripping: undefined, command: 'users' })).toContain('bin/gatehouse.js <command>`');
  });

  it('accepts Node 22.18 and later when type stripping is on, and says so when it is turned off', () => {
    for (const version of ['22.18.0', '23.6.0', '24.21.0', '25.1.0']) {
      expect(nodeVersionProblem({ version, typeStripping: 'strip', command: 'serve' })).toBeUndefined();
    }
    const off = nodeVersionProblem({ version: '24.21.0', typeStripping: false, command: 'serve' });
    expect(off).toMatch(/^Node\.js 24\.21\.0 is not stripping TypeScript types[^\n]*--no-experimental-strip-types/);
  });

  it('npm start on an old Node prints that one line and exits 1, with no stack trace', () => {
    const old = oldNode();
    if (old) {
      // The real thing: Node 20 would otherwise die with ERR_UNKNOWN_FILE_EXTENSION.
      const version = spawnSync(old, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^v/, '');
      expectOneLineRefusal(start(old), version);
    }
    // Always (CI has no old Node): this Node, told it is 20.20.2 before the entry point runs.
    const fake = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';
    expectOneLineRefusal(start(process.execPath, ['--import', fake]), '20.20.2');
  });
});
