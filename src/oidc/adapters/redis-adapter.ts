import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { alreadyConsumed } from './consume-error.ts';
import { isPlausibleId } from './input-guard.ts';

// Every model uses one encoding: a hash { payload: JSON, consumed?: epoch seconds }. One shape
// for all avoids the WRONGTYPE trap of mixing strings and hashes (notes §4).
const UPSERT = `
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[2], ARGV[3])
  local current = redis.call('TTL', KEYS[2])
  if ttl > 0 and (current == -1 or current < ttl) then redis.call('EXPIRE', KEYS[2], ttl) end
end
if ARGV[5] ~= '' then
  if ttl > 0 then redis.call('SET', KEYS[3], ARGV[5], 'EX', ttl) else redis.call('SET', KEYS[3], ARGV[5]) end
end
if ARGV[6] ~= '' then
  if ttl > 0 then redis.call('SET', KEYS[4], ARGV[6], 'EX', ttl) else redis.call('SET', KEYS[4], ARGV[6]) end
end
if ARGV[7] == '1' then
  redis.call('SADD', KEYS[5], ARGV[3])
  local current = redis.call('TTL', KEYS[5])
  if ttl > 0 and (current == -1 or current < ttl) then redis.call('EXPIRE', KEYS[5], ttl) end
  -- An active account's index would keep the names of long-expired entries forever: each
  -- write checks two random members and drops the dead, so the set tracks live entries.
  for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[5], 2)) do
    if redis.call('EXISTS', ARGV[8] .. member) == 0 then redis.call('SREM', KEYS[5], member) end
  end
end
return 1`;

// HSETNX on a key that just expired would recreate it without a TTL: check existence first,
// in the same script, so consume stays atomic (notes §5).
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

type GatehouseRedis = Redis & {
  gatehouseUpsert(...args: (string | number)[]): Promise<number>;
  gatehouseConsume(key: string, now: number): Promise<number>;
};

function withScripts(redis: Redis): GatehouseRedis {
  const r = redis as GatehouseRedis;
  if (typeof r.gatehouseUpsert !== 'function') {
    redis.defineCommand('gatehouseUpsert', { numberOfKeys: 5, lua: UPSERT });
    redis.defineCommand('gatehouseConsume', { numberOfKeys: 1, lua: CONSUME });
  }
  return r;
}

/** Every key of one account (sessions, codes, opaque tokens), for signing a user out everywhere. */
export const accountIndexKey = (accountId: string) => `account:${accountId}`;

/** oidc-provider's storage seam on Redis, for short-lived models. Keys expire with their payload. */
export function createRedisAdapter(redisClient: Redis, model: string): Adapter {
  const redis = withScripts(redisClient);
  const keyPrefix = redisClient.options.keyPrefix ?? '';
  const key = (id: string) => `${model}:${id}`;
  const grantKey = (grantId: string) => `grant:${grantId}`;
  const uidKey = (uid: string) => `${model}:uid:${uid}`;
  const userCodeKey = (code: string) => `${model}:userCode:${code}`;

  const read = async (id: string): Promise<AdapterPayload | undefined> => {
    const hash = await redis.hgetall(key(id));
    if (!hash.payload) return undefined;
    const payload = JSON.parse(hash.payload) as AdapterPayload;
    if (hash.consumed) payload.consumed = Number(hash.consumed);
    return payload;
  };

  return {
    async upsert(id, payload, expiresIn) {
      const { grantId, uid, userCode, accountId } = payload;
      await redis.gatehouseUpsert(
        key(id),
        grantKey(grantId ?? '-'),
        uidKey(uid ?? '-'),
        userCodeKey(userCode ?? '-'),
        accountIndexKey(accountId ?? '-'),
        JSON.stringify(payload),
        expiresIn ?? 0,
        key(id),
        grantId ? '1' : '0',
        uid ? id : '',
        userCode ? id : '',
        accountId ? '1' : '0',
        keyPrefix,
      );
    },

    async find(id) {
      return isPlausibleId(id) ? read(id) : undefined;
    },

    async findByUid(uid) {
      if (!isPlausibleId(uid)) return undefined;
      const id = await redis.get(uidKey(uid));
      return id ? read(id) : undefined;
    },

    async findByUserCode(userCode) {
      if (!isPlausibleId(userCode)) return undefined;
      const id = await redis.get(userCodeKey(userCode));
      return id ? read(id) : undefined;
    },

    async consume(id) {
      const won = await redis.gatehouseConsume(key(id), Math.floor(Date.now() / 1000));
      if (won !== 1) throw alreadyConsumed(model);
    },

    async destroy(id) {
      await redis.unlink(key(id));
    },

    async revokeByGrantId(grantId) {
      // The grant index holds every model's keys; oidc-provider calls this once per model,
      // so each call removes only its own model's entries.
      const members = (await redis.smembers(grantKey(grantId))).filter((m) => m.startsWith(`${model}:`));
      if (members.length === 0) return;
      await redis.multi().unlink(...members).srem(grantKey(grantId), ...members).exec();
    },
  };
}
