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
  // One read per id at a time: concurrent misses share it. An invalidation of that id (or of
  // everything) marks it stale, so what it read is returned but not kept, and drops it, so the
  // next get reads anew. Only that id's: a change to another record must not cost this one its fill
  // (it would then be missing from the cache in an outage).
  type Flight = { promise: Promise<V | undefined>; isStale: boolean };
  const inflight = new Map<string, Flight>();
  // Bumped whenever trust changes: an entry read in an older epoch is re-read before it is served.
  let epoch = 0;
  let isTrusted = true;
  let failedAtMs = -Infinity;

  const loadOnce = (id: string): Promise<V | undefined> => {
    const current = inflight.get(id);
    if (current) return current.promise;
    const startedEpoch = epoch;
    const flight: Flight = { promise: Promise.resolve(undefined), isStale: false };
    flight.promise = (async () => {
      try {
        const value = await options.load(id);
        if (!flight.isStale) cache.set(id, { value, epoch: startedEpoch });
        return value;
      } finally {
        if (inflight.get(id) === flight) inflight.delete(id);
      }
    })();
    inflight.set(id, flight);
    return flight.promise;
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
      const flights = id === '*' ? [...inflight.values()] : [inflight.get(id)];
      for (const flight of flights) if (flight) flight.isStale = true;
      if (id === '*') {
        cache.clear();
        inflight.clear();
      } else {
        cache.delete(id);
        inflight.delete(id);
      }
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
