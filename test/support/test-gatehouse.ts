import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createGatehouse, type Gatehouse, type GatehouseOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { testDatabaseUrl, testRedisUrl, uniqueName } from './test-env.ts';
import { cleanupRedisPrefix } from './test-storage.ts';

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';

export type TestGatehouse = Gatehouse & {
  issuer: string;
  server: Server;
  /** Every log line this instance wrote, parsed. */
  logs: () => Record<string, unknown>[];
  rawLogs: () => string;
  /** Stops the HTTP server and closes pools; storage is kept (for restart tests). Once is enough: later calls wait for the first. */
  stop: () => Promise<void>;
};

export type Storage = { schema: string; redisPrefix: string; dataDir: string; useRedis: boolean };

/** Storage names for one test file: share them between instances to model restarts or a cluster. */
export function newStorage(options: { useRedis?: boolean; dataDir?: string } = {}): Storage {
  return {
    schema: uniqueName('t_'),
    redisPrefix: `${uniqueName('test:')}:`,
    // Without a Postgres server each instance gets PGlite: in memory unless a directory is given.
    dataDir: options.dataDir ?? 'memory://',
    useRedis: options.useRedis ?? Boolean(testRedisUrl),
  };
}

/** A real Gatehouse on 127.0.0.1:<random port>, on its own schema and Redis prefix. */
export async function startTestGatehouse(
  storage: Storage = newStorage(),
  env: Record<string, string> = {},
  options: Pick<GatehouseOptions, 'clock' | 'outboundFetch'> = {},
): Promise<TestGatehouse> {
  let handler: Parameters<typeof createServer>[1] = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler!(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    ISSUER: issuer,
    DATABASE_URL: testDatabaseUrl,
    REDIS_URL: storage.useRedis ? testRedisUrl : undefined,
    DATA_DIR: storage.dataDir,
    GATEHOUSE_SECRET: TEST_SECRET,
    ...env,
  });
  const gatehouse = await createGatehouse(config, {
    schema: storage.schema,
    redisKeyPrefix: storage.redisPrefix,
    logger: pino({ level: 'info' }, sink),
    ...options,
  });
  handler = gatehouse.callback;

  let stopped: Promise<void> | undefined;
  return Object.assign(gatehouse, {
    issuer,
    server,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    rawLogs: () => lines.join('\n'),
    stop: () =>
      (stopped ??= (async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await gatehouse.close();
      })()),
  });
}

/** Removes a storage's schema and Redis keys for good. */
export async function dropStorage(storage: Storage): Promise<void> {
  await Promise.all([cleanupRedisPrefix(storage.redisPrefix), dropSchema(storage.schema)]);
}

async function dropSchema(schema: string): Promise<void> {
  if (!testDatabaseUrl) return;
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl });
  try {
    await knex.raw('drop schema if exists ?? cascade', [schema]);
  } finally {
    await knex.destroy();
  }
}

/** A test Gatehouse as the suite that owns it sees it: the running instance and its storage. */
export type TestGatehouseHandle = TestGatehouse & { readonly storage: Storage };

/**
 * The setup of a file (or describe block) with one Gatehouse: it starts in beforeAll, on `storage`
 * (new by default, with Redis unless `useRedis: false`), and stops in afterAll, its storage dropped even when the start failed. The
 * handle forwards to the running instance and throws when used before beforeAll ran or after
 * afterAll. `env` may be a function, for values that exist once earlier hooks ran (an SMTP server's
 * or an upstream's URL): hooks registered before this call run before the start and after the stop.
 */
export function useTestGatehouse(
  env: Record<string, string> | (() => Record<string, string>) = {},
  options: Pick<GatehouseOptions, 'clock' | 'outboundFetch'> & { storage?: Storage; useRedis?: boolean } = {},
): TestGatehouseHandle {
  const { useRedis, storage = newStorage({ useRedis }), ...gatehouseOptions } = options;
  let running: TestGatehouse | undefined;
  beforeAll(async () => {
    running = await startTestGatehouse(storage, typeof env === 'function' ? env() : env, gatehouseOptions);
  });
  afterAll(async () => {
    try {
      await running?.stop();
    } finally {
      running = undefined;
      await dropStorage(storage);
    }
  });
  // The target is never read: every property comes from the running instance.
  return new Proxy({} as TestGatehouseHandle, {
    get(_target, key) {
      if (key === 'storage') return storage;
      if (running) return Reflect.get(running, key);
      // Not a thenable, and printable, while nothing runs.
      if (typeof key === 'symbol' || key === 'then') return undefined;
      throw new Error(`the test Gatehouse is not running: .${key} was read before beforeAll started it or after afterAll stopped it`);
    },
  });
}
