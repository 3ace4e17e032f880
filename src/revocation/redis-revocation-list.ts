import type { Redis } from 'ioredis';
import type { RevocationEvent, RevocationList } from './revocation-list.ts';

const FEED = 'revocations:feed';

const markerKey = (e: RevocationEvent) => {
  switch (e.type) {
    case 'token': return `revoked:jti:${e.jti}`;
    case 'grant': return `revoked:gid:${e.gid}`;
    case 'subject': return `revoked:sub:${e.sub}`;
    case 'client': return `revoked:client:${e.client_id}`;
  }
};

/**
 * Revocation state in Redis: one expiring marker per event for lookups, and a stream for the
 * feed, trimmed to the longest token lifetime (stream ids are milliseconds, so MINID trims by age).
 */
export function createRedisRevocationList(redis: Redis, options: { maxTokenTtlSeconds: () => Promise<number> }): RevocationList {
  return {
    async record(event) {
      const ttl = Math.max(1, event.exp - Math.floor(Date.now() / 1000));
      const horizonMs = Date.now() - (await options.maxTokenTtlSeconds()) * 1000;
      // A subject's marker holds its cut-off; a later sign-out replaces it and covers more. The
      // marker first (lookups honour it at once), then the feed entry: two keys, two hash slots.
      await redis.set(markerKey(event), event.type === 'subject' ? String(event.iat_before) : '1', 'EX', ttl);
      await redis.xadd(FEED, 'MINID', '~', String(Math.max(0, horizonMs)), '*', 'event', JSON.stringify(event));
    },

    async isRevoked(t) {
      // GETs, not one MGET: the markers live in different hash slots on a Redis Cluster.
      const get = (key: string | undefined) => (key ? redis.get(key) : Promise.resolve(null));
      const [jti, gid, sub, client] = await Promise.all([
        get(t.jti && `revoked:jti:${t.jti}`),
        get(t.gid && `revoked:gid:${t.gid}`),
        get(t.sub && `revoked:sub:${t.sub}`),
        get(t.clientId && `revoked:client:${t.clientId}`),
      ]);
      if ((t.jti && jti) || (t.gid && gid) || (t.clientId && client)) return true;
      return Boolean(t.sub && sub && t.iat !== undefined && t.iat <= Number(sub));
    },

    async feed(cursor, limit) {
      const start = cursor ? `(${cursor}` : '-';
      const entries = await redis.xrange(FEED, start, '+', 'COUNT', limit);
      const now = Math.floor(Date.now() / 1000);
      const events = entries
        .map(([id, fields]) => ({ ...(JSON.parse(fields[1]!) as RevocationEvent), cursor: id }))
        .filter((e) => e.exp > now);
      return { events, cursor: entries.at(-1)?.[0] ?? cursor ?? '0-0' };
    },
  };
}
