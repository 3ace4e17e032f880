import { Redis } from 'ioredis';

export type RedisOptions = { url: string; keyPrefix?: string };

export function createRedis(options: RedisOptions): Redis {
  return new Redis(options.url, {
    keyPrefix: options.keyPrefix ?? 'gh:',
    // Fail requests fast while Redis is down (readiness reports it) instead of queueing forever.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}
