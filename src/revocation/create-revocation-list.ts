import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { createPostgresRevocationList } from './postgres-revocation-list.ts';
import { createRedisRevocationList } from './redis-revocation-list.ts';
import type { RevocationList } from './revocation-list.ts';

/** Revocation state in Redis when there is one, else in Postgres (embedded: no commit lag to wait out). */
export function createRevocationList(deps: {
  knex: Knex;
  redis: Redis | undefined;
  isEmbedded: boolean;
  maxTokenTtlSeconds: () => Promise<number>;
}): RevocationList {
  return deps.redis
    ? createRedisRevocationList(deps.redis, { maxTokenTtlSeconds: deps.maxTokenTtlSeconds })
    : createPostgresRevocationList(deps.knex, { commitLagSeconds: deps.isEmbedded ? 0 : 2 });
}
