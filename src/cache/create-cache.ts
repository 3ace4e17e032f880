import { LRUCache } from 'lru-cache';

/**
 * A bounded read-through cache for records that change rarely but are read on every token
 * request (clients, APIs). Misses are cached too, so a flood of unknown ids costs one query
 * per id per TTL at most.
 */
export function createCache<V extends object>(options: {
  ttlMs: number;
  max: number;
  load: (id: string) => Promise<V | undefined>;
}) {
  const cache = new LRUCache<string, { value: V | undefined }>({ max: options.max, ttl: options.ttlMs });
  const inflight = new Map<string, Promise<V | undefined>>();
  // Bumped on every invalidation: a load that started before it must not fill the cache after it.
  let generation = 0;

  const load = async (id: string): Promise<V | undefined> => {
    const startedAt = generation;
    try {
      const value = await options.load(id);
      if (generation === startedAt) cache.set(id, { value });
      return value;
    } finally {
      inflight.delete(id);
    }
  };

  return {
    async get(id: string): Promise<V | undefined> {
      const hit = cache.get(id);
      if (hit) return hit.value;
      // Coalesce concurrent misses for one id into one query.
      let pending = inflight.get(id);
      if (!pending) {
        pending = load(id);
        inflight.set(id, pending);
      }
      return pending;
    },
    /** Drops one id, or everything with '*'. */
    invalidate(id: string) {
      generation += 1;
      if (id === '*') cache.clear();
      else cache.delete(id);
    },
  };
}
