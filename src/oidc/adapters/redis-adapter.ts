import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { alreadyConsumed } from './consume-error.ts';
import { isPlausibleId } from './input-guard.ts';

// Every model uses one encoding: a hash { payload: JSON, consumed?: epoch seconds }. One shape
// for all avoids the WRONGTYPE trap of mixing strings and hashes (notes §4).
// Every script and command touches ONE key, so the same code runs on a Redis Cluster (keys of one
// command must share a hash slot; an entry and its indexes never do).
const PUT_PAYLOAD = `
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1`;

// An index set (a grant's or an account's entries) lives as long as its longest-lived member.
const ADD_TO_INDEX = `
local ttl = tonumber(ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
local current = redis.call('TTL', KEYS[1])
if ttl > 0 and (current == -1 or current < ttl) then redis.call('EXPIRE', KEYS[1], ttl) end
if ttl <= 0 then redis.call('PERSIST', KEYS[1]) end
return 1`;

// HSETNX on a key that just expired would recreate it without a TTL: check existence first,
// in the same script, so consume stays atomic (notes §5).
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

type GatehouseRedis = Redis & {
  gatehousePutPayload(key: string, payload: string, ttl: number): Promise<number>;
  gatehouseAddToIndex(key: string, member: string, ttl: number): Promise<number>;
  gatehouseConsume(key: string, now: number): Promise<number>;
};

function withScripts(redis: Redis): GatehouseRedis {
  const r = redis as GatehouseRedis;
  if (typeof r.gatehousePutPayload !== 'function') {
    redis.defineCommand('gatehousePutPayload', { numberOfKeys: 1, lua: PUT_PAYLOAD });
    redis.defineCommand('gatehouseAddToIndex', { numberOfKeys: 1, lua: ADD_TO_INDEX });
    redis.defineCommand('gatehouseConsume', { numberOfKeys: 1, lua: CONSUME });
  }
  return r;
}

/** Every key of one account (sessions, codes, opaque tokens), for signing a user out everywhere. */
export const accountIndexKey = (accountId: string) => `account:${accountId}`;

/** oidc-provider's storage seam on Redis, for short-lived models. Keys expire with their payload. */
export function createRedisAdapter(redisClient: Redis, model: string): Adapter {
  const redis = withScripts(redisClient);
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
      const ttl = expiresIn ?? 0;
      const setPointer = (pointer: string) => (ttl > 0 ? redis.set(pointer, id, 'EX', ttl) : redis.set(pointer, id));
      // Indexes first: an entry never exists that a grant revocation or a sign-out could miss.
      await Promise.all([
        grantId ? redis.gatehouseAddToIndex(grantKey(grantId), key(id), ttl) : undefined,
        accountId ? redis.gatehouseAddToIndex(accountIndexKey(accountId), key(id), ttl) : undefined,
        uid ? setPointer(uidKey(uid)) : undefined,
        userCode ? setPointer(userCodeKey(userCode)) : undefined,
      ]);
      await redis.gatehousePutPayload(key(id), JSON.stringify(payload), ttl);
      if (accountId) await pruneAccountIndex(redis, accountIndexKey(accountId));
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
      await Promise.all(members.map((m) => redis.unlink(m))); // one key per command: members live in other slots
      await redis.srem(grantKey(grantId), ...members);
    },
  };
}

/**
 * An active account's index would keep the names of long-expired entries forever: each write
 * checks two random members and drops the dead, so the set tracks live entries.
 */
async function pruneAccountIndex(redis: Redis, index: string): Promise<void> {
  const sample = await redis.srandmember(index, 2);
  const alive = await Promise.all(sample.map((member) => redis.exists(member)));
  const dead = sample.filter((_, i) => alive[i] === 0);
  if (dead.length) await redis.srem(index, ...dead);
}
