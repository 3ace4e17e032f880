import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll } from 'vitest';
import { runGatehouseCli } from '../../src/cli/gatehouse-cli.ts';
import type { CliResult } from './gatehouse-process.ts';
import { testDatabaseUrl } from './test-env.ts';
import { dropStorage, newStorage, type Storage, TEST_SECRET } from './test-gatehouse.ts';

/**
 * Runs `gatehouse ...args` in this process, against `env` only, with stdin `input`: the same
 * commands, output and exit codes as `node bin/gatehouse.js` (cli.test.ts checks a few as a real
 * process), without loading the whole program again for every command.
 */
export async function runCliInProcess(args: string[], env: Record<string, string>, options: { input?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runGatehouseCli(args, {
    env: { ...env },
    terminal: {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      readInput: async () => (options.input ?? '').replace(/\r?\n$/, ''),
    },
  });
  return { code, stdout, stderr };
}

/** Where CLI commands keep their data, and the environment that points them there. */
export type CliStorage = { storage: Storage; dataDir: string; env: Record<string, string> };

/**
 * A database of the caller's own for CLI commands, as an operator's would be: a schema on the
 * test Postgres (every connection put in it by libpq's `options`, which pg honours), or PGlite in
 * a directory. A server started in the test on `storage` (with `DATA_DIR: dataDir`) sees the same data.
 */
export async function createCliStorage(env: Record<string, string> = {}): Promise<CliStorage & { drop: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  let storage = newStorage({ dataDir });
  const cliEnv: Record<string, string> = { GATEHOUSE_SECRET: TEST_SECRET, DATA_DIR: dataDir, ...env };
  if (testDatabaseUrl) {
    const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl });
    await knex.raw('create schema ??', [storage.schema]).finally(() => knex.destroy());
    const options = encodeURIComponent(`-c search_path=${storage.schema}`);
    cliEnv.DATABASE_URL = `${testDatabaseUrl}${testDatabaseUrl.includes('?') ? '&' : '?'}options=${options}`;
  } else {
    // Without DATABASE_URL the CLI migrates PGlite's default schema in DATA_DIR.
    storage = { ...storage, schema: 'public' };
  }
  return {
    storage,
    dataDir,
    env: cliEnv,
    drop: async () => {
      await dropStorage(storage);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** createCliStorage for a file or describe block: made in beforeAll, dropped in afterAll. */
export function useCliStorage(env: Record<string, string> = {}): CliStorage {
  let made: Awaited<ReturnType<typeof createCliStorage>> | undefined;
  beforeAll(async () => {
    made = await createCliStorage(env);
  });
  afterAll(async () => {
    await made?.drop();
    made = undefined;
  });
  const current = () => {
    if (!made) throw new Error('the CLI storage exists only between beforeAll and afterAll');
    return made;
  };
  return {
    get storage() {
      return current().storage;
    },
    get dataDir() {
      return current().dataDir;
    },
    get env() {
      return current().env;
    },
  };
}
