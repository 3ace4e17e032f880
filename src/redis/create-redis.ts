import { Cluster, Redis } from 'ioredis';
import type { RedisTopology } from '../config/load-config.ts';

export type RedisOptions = { keyPrefix?: string };

const common = {
  // Fail requests fast while Redis is down (readiness reports it) instead of queueing forever.
  maxRetriesPerRequest: 2,
  enableOfflineQueue: true,
  lazyConnect: false,
};

/**
 * The ioredis client for a topology. A Cluster speaks the same commands as a single server as long
 * as each command (or script, or MULTI) touches keys of one hash slot: every store here issues
 * single-key commands (docs/dependency-notes.md), so the rest of the code can type it as `Redis`.
 */
export function createRedis(topology: RedisTopology | string, options: RedisOptions = {}): Redis {
  const t: RedisTopology = typeof topology === 'string' ? { kind: 'single', url: topology } : topology;
  const keyPrefix = options.keyPrefix ?? 'gh:';
  if (t.kind === 'single') return new Redis(t.url, { ...common, keyPrefix });
  if (t.kind === 'sentinel') {
    return new Redis({ ...common, keyPrefix, sentinels: t.sentinels, name: t.masterName, password: t.password });
  }
  const cluster = new Cluster(t.nodes, {
    keyPrefix,
    enableOfflineQueue: true,
    redisOptions: { maxRetriesPerRequest: 2, password: t.password },
  });
  return cluster as unknown as Redis;
}
