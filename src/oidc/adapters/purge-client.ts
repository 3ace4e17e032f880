import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { accountIndexKey } from './redis-adapter.ts';

type Session = { authorizations?: Record<string, unknown> };

/**
 * Deletes what oidc-provider stored for one (deleted) client: its grants and refresh tokens in
 * Postgres, the codes and opaque tokens of those grants in Redis, and the client's entry in its
 * users' sessions (`authorizations[clientId]`, which names the grant). The adapter API cannot
 * find records by client (notes §10), so this reads the stores as the adapters lay them out:
 * rows carry the payload's clientId, Redis indexes entries by grant and by account.
 */
export function createClientPurge(deps: { knex: Knex; redis: Redis | undefined }) {
  return async (clientId: string): Promise<{ deleted: number }> => {
    const grants = await deps
      .knex('oidc_payloads')
      .where({ model: 'Grant' })
      .whereRaw("payload->>'clientId' = ?", [clientId])
      .select(deps.knex.raw("payload->>'jti' as grant_id"), 'account_id');
    const accounts = [...new Set(grants.map((g: { account_id: string | null }) => g.account_id).filter((a): a is string => Boolean(a)))];

    let deleted = 0;
    if (deps.redis) {
      for (const { grant_id: grantId } of grants as { grant_id: string }[]) deleted += await unlinkIndexed(deps.redis, `grant:${grantId}`);
      for (const accountId of accounts) await forgetInRedisSessions(deps.redis, accountIndexKey(accountId), clientId);
    } else if (accounts.length > 0) {
      await deps
        .knex('oidc_payloads')
        .where({ model: 'Session' })
        .whereIn('account_id', accounts)
        .whereRaw("payload->'authorizations' \\? ?", [clientId])
        .update({ payload: deps.knex.raw("payload #- array['authorizations', ?]::text[]", [clientId]) });
    }
    // Grants, refresh tokens and (without Redis) codes and opaque tokens: whatever names the client.
    deleted += await deps.knex('oidc_payloads').whereRaw("payload->>'clientId' = ?", [clientId]).delete();
    return { deleted };
  };
}

/** Unlinks every entry an index set lists, then the set (one key per command: Redis Cluster). */
async function unlinkIndexed(redis: Redis, index: string): Promise<number> {
  const members = await redis.smembers(index);
  const counts = await Promise.all(members.map((key) => redis.unlink(key)));
  await redis.unlink(index);
  return counts.reduce((sum, n) => sum + n, 0);
}

// Compare-and-set on one key (so it runs on a Redis Cluster too): the payload is replaced only if
// nobody wrote the session since it was read, and a session that ended meanwhile stays ended.
const REPLACE_IF_UNCHANGED = `
if redis.call('HGET', KEYS[1], 'payload') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'payload', ARGV[2])
return 1`;

/** Removes the client from each of the account's sessions (HSET keeps the key's TTL). */
async function forgetInRedisSessions(redis: Redis, index: string, clientId: string): Promise<void> {
  const sessions = (await redis.smembers(index)).filter((key) => key.startsWith('Session:'));
  for (const key of sessions) {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const json = await redis.hget(key, 'payload');
      const session = json ? (JSON.parse(json) as Session) : undefined;
      if (!json || !session?.authorizations || !(clientId in session.authorizations)) break;
      delete session.authorizations[clientId];
      if ((await redis.eval(REPLACE_IF_UNCHANGED, 1, key, json, JSON.stringify(session))) === 1) break;
    }
  }
}
