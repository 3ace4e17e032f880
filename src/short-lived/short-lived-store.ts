import type { Redis } from 'ioredis';
import type { Knex } from 'knex';

/** Expiring key-value entries: Redis when there is one, else a Postgres table. */
export type ShortLivedStore = {
  /** Sets the entry only if there is no live one; true if this call set it (a lock). */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
};

export function createRedisShortLivedStore(redis: Redis): ShortLivedStore {
  return {
    async setIfAbsent(key, value, ttl) {
      return (await redis.set(`sl:${key}`, value, 'EX', ttl, 'NX')) === 'OK';
    },
    async set(key, value, ttl) {
      await redis.set(`sl:${key}`, value, 'EX', ttl);
    },
    async get(key) {
      return (await redis.get(`sl:${key}`)) ?? undefined;
    },
    async delete(key) {
      await redis.unlink(`sl:${key}`);
    },
  };
}

export function createPostgresShortLivedStore(knex: Knex): ShortLivedStore {
  const expiresAt = (ttl: number) => new Date(Date.now() + ttl * 1000);
  return {
    async setIfAbsent(key, value, ttl) {
      // An expired row counts as absent: take it over in the same statement.
      const rows = await knex('short_lived_entries')
        .insert({ key, value, expires_at: expiresAt(ttl) })
        .onConflict('key')
        .merge(['value', 'expires_at'])
        .where('short_lived_entries.expires_at', '<=', knex.fn.now())
        .returning('key');
      return rows.length > 0;
    },
    async set(key, value, ttl) {
      await knex('short_lived_entries').insert({ key, value, expires_at: expiresAt(ttl) }).onConflict('key').merge(['value', 'expires_at']);
    },
    async get(key) {
      const row = await knex('short_lived_entries').select('value').where({ key }).where('expires_at', '>', knex.fn.now()).first();
      return row?.value;
    },
    async delete(key) {
      await knex('short_lived_entries').where({ key }).delete();
    },
  };
}
