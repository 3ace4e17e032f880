import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';

/**
 * One attempt against a throttled key, as decided by takeAttempt: refused (`isAllowed` false,
 * nothing counted) while the key is held, else counted as the `count`-th of its window. `holdUntilMs`
 * is the hold this attempt set (0: none), which returnAttempt lifts again.
 */
export type AttemptDecision = { isAllowed: boolean; count: number; retryAfterMs: number; holdUntilMs: number };

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
  /**
   * A throttle's check and count in one atomic step on one key, so that of N concurrent attempts
   * no more than the policy allows get through: while the key is held the attempt is refused and
   * not counted; otherwise it is counted (in a window of `windowSeconds` from the first counted
   * one) and the key is held for the wait the new count calls for (waitSecondsAfter, computed
   * here in the store's own language, on the store's clock, the same on every instance).
   */
  takeAttempt(key: string, policy: ThrottlePolicy): Promise<AttemptDecision>;
  /** Un-counts an allowed attempt (one that must not count, e.g. a success), and lifts its hold if no later attempt replaced it. */
  returnAttempt(key: string, attempt: AttemptDecision): Promise<void>;
};

const policyArgs = (p: ThrottlePolicy) => [p.freeAttempts, p.blockAfter, p.blockSeconds, p.maxDelaySeconds, p.windowSeconds];
const decision = (allowed: number, count: number, retryAfterMs: number, holdUntilMs: number): AttemptDecision => ({
  isAllowed: allowed === 1,
  count,
  retryAfterMs: Math.max(0, retryAfterMs),
  holdUntilMs,
});

// KEYS[1]: a hash { n, hold, window_end } (ms on Redis's clock). ARGV: the policy (policyArgs).
// The wait mirrors waitSecondsAfter in throttle-policy.ts (the contract test holds them together);
// the exponent is capped so that 2^k stays finite. Returns { allowed, n, retry_after_ms, hold }.
const TAKE_ATTEMPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'n', 'hold', 'window_end')
local n, hold, window_end = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3]) or 0
if hold > now then return {0, n, hold - now, 0} end
local free, block_after, block, max_delay, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if window_end <= now then n = 0; window_end = now + window * 1000 end
n = n + 1
local wait = 0
if n >= block_after then wait = block elseif n >= free then wait = math.min(2 ^ math.min(n - free, 30), max_delay) end
hold = 0
if wait > 0 then hold = now + wait * 1000 end
redis.call('HSET', KEYS[1], 'n', n, 'hold', hold, 'window_end', window_end)
redis.call('PEXPIREAT', KEYS[1], math.max(hold, window_end))
return {1, n, 0, hold}`;

// KEYS[1]: as above. ARGV[1]: the hold the returned attempt set (0: none).
const RETURN_ATTEMPT = `
local s = redis.call('HMGET', KEYS[1], 'n', 'hold')
if not s[1] then return 0 end
if tonumber(s[1]) > 0 then redis.call('HINCRBY', KEYS[1], 'n', -1) end
if tonumber(ARGV[1]) > 0 and tonumber(s[2]) == tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'hold', 0) end
return 1`;

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
    async takeAttempt(key, policy) {
      // One key, one script: Cluster-safe, and nothing can slip between the check and the count.
      const [allowed, count, retryAfterMs, hold] = (await redis.eval(TAKE_ATTEMPT, 1, `sl:${key}`, ...policyArgs(policy))) as number[];
      return decision(allowed!, count!, retryAfterMs!, hold!);
    },
    async returnAttempt(key, attempt) {
      if (!attempt.isAllowed) return;
      await redis.eval(RETURN_ATTEMPT, 1, `sl:${key}`, attempt.holdUntilMs);
    },
  };
}

/**
 * takeAttempt's step in SQL over a state given as SQL expressions (n, hold and window end in ms on
 * Postgres's clock): the rule of the Redis script, for a fresh key and an existing row alike. The
 * policy comes as five bindings (policyArgs order). The row's value becomes "n hold window_end
 * allowed now": the last two tell the caller what this statement decided, and when. The clock is
 * clock_timestamp(), read after the row lock: now() is the statement's start, which for a
 * statement that waited on the lock is earlier than the attempt that set the hold.
 */
const attemptStep = (n: string, hold: string, windowEnd: string) => `
  select concat_ws(' ', b.n, b.hold, b.window_end, (not h.is_held)::int, p.now_ms) as value,
         to_timestamp(greatest(b.hold, b.window_end) / 1000.0) as expires_at
  from (select (extract(epoch from clock_timestamp()) * 1000)::bigint as now_ms, ?::bigint as free_attempts, ?::bigint as block_after,
               ?::bigint as block_seconds, ?::bigint as max_delay_seconds, ?::bigint as window_seconds) p
  cross join lateral (select ${n}::bigint as n, ${hold}::bigint as hold, ${windowEnd}::bigint as window_end) s
  cross join lateral (select s.hold > p.now_ms as is_held) h
  cross join lateral (select
      case when h.is_held then s.n when s.window_end <= p.now_ms then 1 else s.n + 1 end as n,
      case when h.is_held or s.window_end > p.now_ms then s.window_end else p.now_ms + p.window_seconds * 1000 end as window_end) w
  cross join lateral (select case when w.n >= p.block_after then p.block_seconds when w.n < p.free_attempts then 0
      else least(power(2, least(w.n - p.free_attempts, 30)), p.max_delay_seconds) end as wait_seconds) d
  cross join lateral (select w.n, w.window_end,
      case when h.is_held then s.hold when d.wait_seconds > 0 then p.now_ms + (d.wait_seconds * 1000)::bigint else 0 end as hold) b`;

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
      await knex('short_lived_entries')
        .insert({ key, value, expires_at: expiresAt(ttl) })
        .onConflict('key')
        .merge(['value', 'expires_at']);
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
    async takeAttempt(key, policy) {
      // One statement: the row lock orders concurrent attempts and each sees its predecessor's
      // state. An expired row counts as a fresh key.
      const live = (field: number) => `case when e.expires_at > clock_timestamp() then split_part(e.value, ' ', ${field}) else '0' end`;
      const { rows } = await knex.raw<{ rows: { value: string }[] }>(
        `insert into short_lived_entries as e (key, value, expires_at)
         select ?, f.value, f.expires_at from (${attemptStep('0', '0', '0')}) f
         on conflict (key) do update set (value, expires_at) = (select f.value, f.expires_at from (${attemptStep(live(1), live(2), live(3))}) f)
         returning value`,
        [key, ...policyArgs(policy), ...policyArgs(policy)],
      );
      const [n, hold, , allowed, now] = rows[0]!.value.split(' ').map(Number) as [number, number, number, number, number];
      return allowed === 1 ? decision(1, n, 0, hold) : decision(0, n, hold - now, 0);
    },
    async returnAttempt(key, attempt) {
      if (!attempt.isAllowed) return;
      await knex.raw(
        `update short_lived_entries set value = concat_ws(' ',
           greatest(split_part(value, ' ', 1)::bigint - 1, 0),
           case when ?::bigint > 0 and split_part(value, ' ', 2)::bigint = ?::bigint then 0 else split_part(value, ' ', 2)::bigint end,
           split_part(value, ' ', 3))
         where key = ? and expires_at > now()`,
        [attempt.holdUntilMs, attempt.holdUntilMs, key],
      );
    },
  };
}

/** Redis when there is one, else the Postgres table. */
export const createShortLivedStore = (deps: { knex: Knex; redis: Redis | undefined }): ShortLivedStore =>
  deps.redis ? createRedisShortLivedStore(deps.redis) : createPostgresShortLivedStore(deps.knex);
