import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
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
  /** Stops the HTTP server and closes pools; storage is kept (for restart tests). */
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

  return Object.assign(gatehouse, {
    issuer,
    server,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    rawLogs: () => lines.join('\n'),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    },
  });
}

/** Removes a storage's schema and Redis keys for good. */
export async function dropStorage(storage: Storage): Promise<void> {
  await cleanupRedisPrefix(storage.redisPrefix);
  if (!testDatabaseUrl) return;
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl });
  try {
    await knex.raw('drop schema if exists ?? cascade', [storage.schema]);
  } finally {
    await knex.destroy();
  }
}
