import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { alreadyConsumed } from './consume-error.ts';
import { isPlausibleId } from './input-guard.ts';
import { fromStored, hasLegacyEntries, isLegacyEntry, storedId, toStored } from './stored-entry.ts';

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
// in the same script, so consume stays atomic (notes §5). -1: no such entry.
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

// Entries written before digests (stored-entry.ts) sit under their raw id, with that id as the
// payload's jti. Only such an entry may be consumed or destroyed under a raw id: a digest taken
// from a dump names a current entry, whose payload has no matching jti.
const LEGACY_CHECK = `
local payload = redis.call('HGET', KEYS[1], 'payload')
local ok, entry = pcall(cjson.decode, payload or 'null')
local legacy = payload and ok and type(entry) == 'table' and entry.jti == ARGV[1]`;
const CONSUME_LEGACY = `${LEGACY_CHECK}
if not legacy then return -1 end
if redis.call('HSETNX', KEYS[1], 'consumed', ARGV[2]) == 1 then return 1 end
return 0`;
const DESTROY_LEGACY = `${LEGACY_CHECK}
if not legacy then return 0 end
return redis.call('UNLINK', KEYS[1])`;

type GatehouseRedis = Redis & {
  gatehousePutPayload(key: string, payload: string, ttl: number): Promise<number>;
  gatehouseAddToIndex(key: string, member: string, ttl: number): Promise<number>;
  gatehouseConsume(key: string, now: number): Promise<number>;
  gatehouseConsumeLegacy(key: string, id: string, now: number): Promise<number>;
  gatehouseDestroyLegacy(key: string, id: string): Promise<number>;
};

function withScripts(redis: Redis): GatehouseRedis {
  const r = redis as GatehouseRedis;
  if (typeof r.gatehousePutPayload !== 'function') {
    redis.defineCommand('gatehousePutPayload', { numberOfKeys: 1, lua: PUT_PAYLOAD });
    redis.defineCommand('gatehouseAddToIndex', { numberOfKeys: 1, lua: ADD_TO_INDEX });
    redis.defineCommand('gatehouseConsume', { numberOfKeys: 1, lua: CONSUME });
    redis.defineCommand('gatehouseConsumeLegacy', { numberOfKeys: 1, lua: CONSUME_LEGACY });
    redis.defineCommand('gatehouseDestroyLegacy', { numberOfKeys: 1, lua: DESTROY_LEGACY });
  }
  return r;
}

/** Every key of one account (sessions, codes, opaque tokens), for signing a user out everywhere. */
export const accountIndexKey = (accountId: string) => `account:${accountId}`;

/** oidc-provider's storage seam on Redis, for short-lived models. Keys expire with their payload. */
export function createRedisAdapter(redisClient: Redis, model: string): Adapter {
  const redis = withScripts(redisClient);
  // Keys, index members and pointers name an entry by its stored id, a digest (stored-entry.ts).
  const entryKey = (stored: string) => `${model}:${stored}`;
  const key = (id: string) => entryKey(storedId(model, id));
  const grantKey = (grantId: string) => `grant:${grantId}`;
  const uidKey = (uid: string) => `${model}:uid:${uid}`;
  const userCodeKey = (code: string) => `${model}:userCode:${code}`;

  const readKey = async (k: string): Promise<{ stored: AdapterPayload; consumed?: number } | undefined> => {
    const hash = await redis.hgetall(k);
    if (!hash.payload) return undefined;
    return { stored: JSON.parse(hash.payload) as AdapterPayload, consumed: hash.consumed ? Number(hash.consumed) : undefined };
  };
  const withConsumed = (payload: AdapterPayload | undefined, consumed: number | undefined) => (payload && consumed ? { ...payload, consumed } : payload);

  const read = async (id: string): Promise<AdapterPayload | undefined> => {
    const current = await readKey(key(id));
    if (current) return withConsumed(fromStored(model, id, current.stored), current.consumed);
    // Written before digests, under the raw id: read until such entries have expired (the
    // longest Redis TTL is a Session's, 14 days after the upgrade); then remove this fallback.
    if (!hasLegacyEntries(model)) return undefined;
    const legacy = await readKey(entryKey(id));
    return legacy && isLegacyEntry(id, legacy.stored) ? withConsumed(legacy.stored, legacy.consumed) : undefined;
  };

  /** An entry a pointer names: the pointer holds its stored id (a digest, or a legacy raw id). */
  const readPointed = async (stored: string): Promise<AdapterPayload | undefined> => {
    const entry = await readKey(entryKey(stored));
    return entry && withConsumed(fromStored(model, entry.stored.jti as string | undefined, entry.stored), entry.consumed);
  };

  return {
    async upsert(id, payload, expiresIn) {
      const { grantId, uid, userCode, accountId } = payload;
      const ttl = expiresIn ?? 0;
      const stored = storedId(model, id);
      const setPointer = (pointer: string) => (ttl > 0 ? redis.set(pointer, stored, 'EX', ttl) : redis.set(pointer, stored));
      // Indexes first: an entry never exists that a grant revocation or a sign-out could miss.
      await Promise.all([
        grantId ? redis.gatehouseAddToIndex(grantKey(grantId), key(id), ttl) : undefined,
        accountId ? redis.gatehouseAddToIndex(accountIndexKey(accountId), key(id), ttl) : undefined,
        uid ? setPointer(uidKey(uid)) : undefined,
        userCode ? setPointer(userCodeKey(userCode)) : undefined,
      ]);
      await redis.gatehousePutPayload(key(id), JSON.stringify(toStored(model, id, payload)), ttl);
      if (accountId) await pruneAccountIndex(redis, accountIndexKey(accountId));
    },

    async find(id) {
      return isPlausibleId(id) ? read(id) : undefined;
    },

    async findByUid(uid) {
      if (!isPlausibleId(uid)) return undefined;
      const stored = await redis.get(uidKey(uid));
      return stored ? readPointed(stored) : undefined;
    },

    async findByUserCode(userCode) {
      if (!isPlausibleId(userCode)) return undefined;
      const stored = await redis.get(userCodeKey(userCode));
      return stored ? readPointed(stored) : undefined;
    },

    async consume(id) {
      const now = Math.floor(Date.now() / 1000);
      let won = await redis.gatehouseConsume(key(id), now);
      if (won === -1 && hasLegacyEntries(model) && isPlausibleId(id)) won = await redis.gatehouseConsumeLegacy(entryKey(id), id, now);
      if (won !== 1) throw alreadyConsumed(model);
    },

    async destroy(id) {
      // Both: a legacy entry re-saved since has a current twin, and neither may outlive this.
      await Promise.all([redis.unlink(key(id)), hasLegacyEntries(model) && isPlausibleId(id) ? redis.gatehouseDestroyLegacy(entryKey(id), id) : undefined]);
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
