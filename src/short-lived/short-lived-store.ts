import type { Redis } from 'ioredis';
import type { Knex } from 'knex';

/** Expiring key-value entries: Redis when there is one, else a Postgres table. */
export type ShortLivedStore = {
  /** Sets the entry only if there is no live one; true if this call set it (a lock). */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  /**
   * Adds one to a counter and returns the new count. The counter lives ttlSeconds from its first
   * increment (a fixed window), then starts again from 1.
   */
  increment(key: string, ttlSeconds: number): Promise<number>;
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
    async increment(key, ttl) {
      // One key, one round trip: the expiry is set only by the increment that created the counter.
      const results = await redis.multi().incr(`sl:${key}`).expire(`sl:${key}`, ttl, 'NX').exec();
      const [err, count] = results![0]!;
      if (err) throw err;
      return Number(count);
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
    async increment(key, ttl) {
      // One statement: a live counter goes up by one; an absent or expired one starts again at 1.
      const { rows } = await knex.raw<{ rows: { value: string }[] }>(
        `insert into short_lived_entries as e (key, value, expires_at) values (?, '1', ?)
         on conflict (key) do update set
           value = case when e.expires_at <= now() then '1' else (e.value::bigint + 1)::text end,
           expires_at = case when e.expires_at <= now() then excluded.expires_at else e.expires_at end
         returning value`,
        [key, expiresAt(ttl)],
      );
      return Number(rows[0]!.value);
    },
  };
}
