import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/create-knex.ts';
import { runMigrations } from '../../src/db/run-migrations.ts';
import { createRedis } from '../../src/redis/create-redis.ts';
import { deleteByPrefix } from '../../src/redis/delete-by-prefix.ts';
import { testDatabaseUrl, testRedisUrl, uniqueName } from './test-env.ts';

/**
 * A migrated database of this test's own: a fresh `t_<random>` schema on the real server (dropped
 * afterwards), or an in-memory PGlite when no server is configured.
 */
export async function createTestDatabase(): Promise<{ knex: Knex; schema: string; url: string | undefined; drop: () => Promise<void> }> {
  const schema = uniqueName('t_');
  const db = createDatabase({ url: testDatabaseUrl, dataDir: 'memory://', schema, poolMax: 5 });
  await db.knex.raw('create schema if not exists ??', [schema]);
  await runMigrations(db.knex, schema, { isEmbedded: db.isEmbedded });
  return {
    knex: db.knex,
    schema,
    url: testDatabaseUrl,
    drop: async () => {
      if (testDatabaseUrl) await db.knex.raw('drop schema if exists ?? cascade', [schema]);
      await db.close();
    },
  };
}

/** A Redis connection whose keys all carry a unique prefix, cleaned afterwards. */
export function createTestRedis(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  if (!testRedisUrl) throw new Error('TEST_REDIS_URL is not set');
  const prefix = `${uniqueName('test:')}:`;
  const redis = createRedis(testRedisUrl, { keyPrefix: prefix });
  return { redis, prefix, cleanup: () => cleanupRedisPrefix(prefix).then(() => redis.disconnect()) };
}

/** Removes one prefix's keys from the test Redis (none configured: nothing to do). */
export async function cleanupRedisPrefix(prefix: string): Promise<void> {
  if (testRedisUrl) await deleteByPrefix(testRedisUrl, prefix);
}
