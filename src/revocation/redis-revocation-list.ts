import type { Redis } from 'ioredis';
import { type RevocationEvent, type RevocationList, subjectAudienceKey } from './revocation-list.ts';

const FEED = 'revocations:feed';

const markerKey = (e: RevocationEvent) => {
  switch (e.type) {
    case 'token':
      return `revoked:jti:${e.jti}`;
    case 'grant':
      return `revoked:gid:${e.gid}`;
    case 'subject':
      return `revoked:sub:${e.sub}`;
    case 'client':
      return `revoked:client:${e.client_id}`;
    case 'subject_audience':
      return subjectAudienceMarker(e.sub, e.aud);
  }
};
const subjectAudienceMarker = (sub: string, aud: string) => `revoked:sub-aud:${subjectAudienceKey(sub, aud)}`;

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
      const hasCutOff = event.type === 'subject' || event.type === 'subject_audience';
      await redis.set(markerKey(event), hasCutOff ? String(event.iat_before) : '1', 'EX', ttl);
      await redis.xadd(FEED, 'MINID', '~', String(Math.max(0, horizonMs)), '*', 'event', JSON.stringify(event));
    },

    async isRevoked(t) {
      // GETs, not one MGET: the markers live in different hash slots on a Redis Cluster.
      const get = (key: string | undefined) => (key ? redis.get(key) : Promise.resolve(null));
      const [jti, gid, sub, client, ...perAudience] = await Promise.all([
        get(t.jti && `revoked:jti:${t.jti}`),
        get(t.gid && `revoked:gid:${t.gid}`),
        get(t.sub && `revoked:sub:${t.sub}`),
        get(t.clientId && `revoked:client:${t.clientId}`),
        ...(t.sub ? (t.aud ?? []).map((a) => get(subjectAudienceMarker(t.sub!, a))) : []),
      ]);
      if ((t.jti && jti) || (t.gid && gid) || (t.clientId && client)) return true;
      if (t.iat === undefined) return false;
      return [sub, ...perAudience].some((cutOff) => Boolean(t.sub && cutOff && t.iat! <= Number(cutOff)));
    },

    async feed(cursor, limit) {
      const start = cursor ? `(${cursor}` : '-';
      const entries = await redis.xrange(FEED, start, '+', 'COUNT', limit);
      const now = Math.floor(Date.now() / 1000);
      const events = entries.map(([id, fields]) => ({ ...(JSON.parse(fields[1]!) as RevocationEvent), cursor: id })).filter((e) => e.exp > now);
      return { events, cursor: entries.at(-1)?.[0] ?? cursor ?? '0-0' };
    },
  };
}
