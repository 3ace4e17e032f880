import { LRUCache } from 'lru-cache';

type Entry<V> = { value: V | undefined; epoch: number };

// After a re-read failed, cached values are served without trying again for this long: during an
// outage every request would otherwise wait for a connection attempt of its own.
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * A bounded read-through cache for records that change rarely but are read on every token
 * request (clients, APIs). Misses are cached too, so a flood of unknown ids costs one query
 * per id per TTL at most.
 *
 * Entries are trusted only while change notices are being received. While they are not
 * (`suspend`), every read goes to the store again and a cached entry is only the answer of last
 * resort, for when the store cannot answer (an outage): so a change is never missed, and what was
 * cached keeps being served, up to its TTL, while the store is down. Once notices arrive again
 * (`setTrusted(true)`), entries cached before are re-read on their next use: a notice may have been sent
 * while nobody listened.
 */
export function createCache<V extends object>(options: { ttlMs: number; max: number; load: (id: string) => Promise<V | undefined> }) {
  const cache = new LRUCache<string, Entry<V>>({ max: options.max, ttl: options.ttlMs });
  const inflight = new Map<string, Promise<V | undefined>>();
  // Bumped on every invalidation: a load that started before it must not fill the cache after it.
  let generation = 0;
  // Bumped whenever trust changes: an entry read in an older epoch is re-read before it is served.
  let epoch = 0;
  let isTrusted = true;
  let failedAtMs = -Infinity;

  const load = async (id: string): Promise<V | undefined> => {
    const startedAt = generation;
    const startedEpoch = epoch;
    try {
      const value = await options.load(id);
      if (generation === startedAt) cache.set(id, { value, epoch: startedEpoch });
      return value;
    } finally {
      inflight.delete(id);
    }
  };
  // Coalesce concurrent misses for one id into one query.
  const loadOnce = (id: string): Promise<V | undefined> => {
    let pending = inflight.get(id);
    if (!pending) {
      pending = load(id);
      inflight.set(id, pending);
    }
    return pending;
  };

  return {
    async get(id: string): Promise<V | undefined> {
      const hit = cache.get(id);
      if (!hit) return loadOnce(id);
      if (isTrusted && hit.epoch === epoch) return hit.value;
      if (Date.now() - failedAtMs < RETRY_AFTER_FAILURE_MS) return hit.value;
      try {
        return await loadOnce(id);
      } catch {
        failedAtMs = Date.now();
        return hit.value;
      }
    },
    /** Drops one id, or everything with '*'. */
    invalidate(id: string) {
      generation += 1;
      if (id === '*') cache.clear();
      else cache.delete(id);
    },
    /**
     * Whether changes are being announced (the change notices are listening). false: from now on
     * entries are a fallback only; true again: entries read before now are re-read on next use.
     */
    setTrusted(value: boolean) {
      if (value === isTrusted) return;
      isTrusted = value;
      epoch += 1;
    },
  };
}
