import type { DpopReplayGuard } from './dpop-proof.ts';

/**
 * DPoP proof ids seen by this process, each kept until its proof is too old to be accepted
 * anyway, and never more than `maxEntries` (memory stays bounded whatever the traffic).
 *
 * When it is full of live entries the oldest go first: a proof that old could then be replayed
 * for the rest of its minute. That takes `maxEntries` fresh proofs, each made with a valid bound
 * token, within that minute; refusing every new proof instead would let the same traffic lock
 * every DPoP client out. Size it above the DPoP requests an instance serves per minute.
 */
export function createMemoryReplayGuard(options: { maxEntries: number }): DpopReplayGuard & { readonly size: number } {
  const seen = new Map<string, number>(); // id → expiry (ms); insertion order ≈ expiry order
  const prune = (now: number) => {
    for (const [id, expiresAt] of seen) {
      if (expiresAt > now && seen.size < options.maxEntries) break;
      seen.delete(id);
    }
  };
  return {
    isFirstUse(id, ttlSeconds) {
      const now = Date.now();
      const expiresAt = seen.get(id);
      if (expiresAt !== undefined && expiresAt > now) return false;
      seen.delete(id); // re-inserted at the end: keeps the order by time of use
      if (seen.size >= options.maxEntries) prune(now);
      seen.set(id, now + ttlSeconds * 1000);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}
