import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { accountIndexKey } from './redis-adapter.ts';

/**
 * Deletes everything oidc-provider stored for one account — sessions, grants, refresh tokens,
 * codes, opaque tokens — in Postgres and Redis. The adapter API cannot find records by account
 * (notes §10), so both stores index them: an account_id column, a Redis set per account.
 */
export function createAccountPurge(deps: { knex: Knex; redis: Redis | undefined }) {
  return async (accountId: string): Promise<{ deleted: number }> => {
    let deleted = await deps.knex('oidc_payloads').where({ account_id: accountId }).delete();
    if (deps.redis) {
      const index = accountIndexKey(accountId);
      const keys = await deps.redis.smembers(index);
      // One key per command: the entries live in other hash slots than the index (Redis Cluster).
      const counts = await Promise.all(keys.map((key) => deps.redis!.unlink(key)));
      deleted += counts.reduce((sum, n) => sum + n, 0);
      await deps.redis.unlink(index);
    }
    return { deleted };
  };
}
