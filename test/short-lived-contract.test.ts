import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresAdapter } from '../src/oidc/adapters/postgres-adapter.ts';
import { createAccountPurge } from '../src/oidc/adapters/purge-account.ts';
import { createRedisAdapter } from '../src/oidc/adapters/redis-adapter.ts';
import { createRedis } from '../src/redis/create-redis.ts';
import { createPostgresRevocationList } from '../src/revocation/postgres-revocation-list.ts';
import { createRedisRevocationList } from '../src/revocation/redis-revocation-list.ts';
import type { RevocationList } from '../src/revocation/revocation-list.ts';
import { createPostgresShortLivedStore, createRedisShortLivedStore, type ShortLivedStore } from '../src/short-lived/short-lived-store.ts';
import { waitSecondsAfter } from '../src/throttle/throttle-policy.ts';
import { type RedisTopologyUnderTest, startRedisCluster } from './support/redis-topologies.ts';
import { testRedisUrl } from './support/test-env.ts';
import { createTestDatabase, createTestRedis } from './support/test-storage.ts';

/**
 * The stores that have a Redis and a Postgres backend besides oidc-provider's adapter (the
 * refresh grace store, the revocation list, the per-account purge): one contract, both backends.
 */
type Backend = {
  store: ShortLivedStore;
  revocations: RevocationList;
  purge: (accountId: string) => Promise<{ deleted: number }>;
  sessionAdapter: ReturnType<typeof createPostgresAdapter>;
};

const now = () => Math.floor(Date.now() / 1000);

function contract(backend: () => Backend) {
  // The store's cases use keys of their own, so they run together (several wait out a 1 s window).
  it.concurrent('sets an entry once while it lives, and again after it expired (a lock)', async () => {
    const { store } = backend();
    const key = randomUUID();
    expect(await store.setIfAbsent(key, 'first', 1)).toBe(true);
    expect(await store.setIfAbsent(key, 'second', 1)).toBe(false);
    expect(await store.get(key)).toBe('first');
    await vi.waitFor(async () => expect(await store.setIfAbsent(key, 'third', 30)).toBe(true), { timeout: 4000, interval: 100 });
    expect(await store.get(key)).toBe('third');
    await store.set(key, 'fourth', 30);
    expect(await store.get(key)).toBe('fourth');
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
  });

  it.concurrent('lets exactly one of many concurrent callers take a lock', async () => {
    const { store } = backend();
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.setIfAbsent(key, String(i), 30)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it.concurrent('counts concurrent increments exactly, and starts again after the window', async () => {
    const { store } = backend();
    const key = randomUUID();
    const counts = await Promise.all(Array.from({ length: 10 }, () => store.increment(key, 1)));
    expect(counts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The window is fixed from the first increment: later increments do not stretch it.
    await vi.waitFor(async () => expect(await store.increment(key, 1)).toBe(1), { timeout: 4000, interval: 200 });
  });

  it.concurrent('lets through only the allowance of many concurrent attempts, counting none of the refused', async () => {
    const { store } = backend();
    const key = randomUUID();
    const policy = { freeAttempts: 5, blockAfter: 5, blockSeconds: 60, maxDelaySeconds: 60, windowSeconds: 3600 };
    const decisions = await Promise.all(Array.from({ length: 50 }, () => store.takeAttempt(key, policy)));
    const allowed = decisions.filter((d) => d.isAllowed);
    expect(allowed.map((d) => d.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    // The fifth set the block; every refusal says how long it has left.
    for (const refused of decisions.filter((d) => !d.isAllowed)) {
      expect(refused.count).toBe(5);
      expect(refused.retryAfterMs).toBeGreaterThan(55_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
  });

  it.concurrent('holds a key for the wait waitSecondsAfter gives, then counts again; a window restarts the count', async () => {
    const { store } = backend();
    const key = randomUUID();
    const policy = { freeAttempts: 1, blockAfter: 2, blockSeconds: 30, maxDelaySeconds: 60, windowSeconds: 3600 };
    const first = await store.takeAttempt(key, policy);
    expect(first).toMatchObject({ isAllowed: true, count: 1 });
    expect(waitSecondsAfter(1, policy)).toBe(1); // the first attempt past the free ones: 1 s
    const early = await store.takeAttempt(key, policy);
    expect(early.isAllowed).toBe(false);
    expect(early.retryAfterMs).toBeGreaterThan(0);
    expect(early.retryAfterMs).toBeLessThanOrEqual(1000);
    let second = early;
    await vi.waitFor(async () => expect((second = await store.takeAttempt(key, policy)).isAllowed).toBe(true), { timeout: 4000, interval: 100 });
    expect(second.count).toBe(2);
    expect(waitSecondsAfter(2, policy)).toBe(30); // blockAfter reached: the block
    expect((await store.takeAttempt(key, policy)).retryAfterMs).toBeGreaterThan(28_000);

    const windowed = randomUUID();
    const short = { freeAttempts: 10, blockAfter: 10, blockSeconds: 60, maxDelaySeconds: 60, windowSeconds: 1 };
    expect((await store.takeAttempt(windowed, short)).count).toBe(1);
    expect((await store.takeAttempt(windowed, short)).count).toBe(2);
    await vi.waitFor(async () => expect((await store.takeAttempt(windowed, short)).count).toBe(1), { timeout: 4000, interval: 200 });
  });

  it.concurrent('gives an attempt back: one count less, and its own hold lifted, not a later one', async () => {
    const { store } = backend();
    const key = randomUUID();
    const policy = { freeAttempts: 2, blockAfter: 3, blockSeconds: 60, maxDelaySeconds: 60, windowSeconds: 3600 };
    await store.takeAttempt(key, policy);
    const holding = await store.takeAttempt(key, policy); // the second sets a 1 s hold
    expect(holding.holdUntilMs).toBeGreaterThan(0);
    await store.returnAttempt(key, holding);
    const next = await store.takeAttempt(key, policy); // not held, and counted as the second again
    expect(next).toMatchObject({ isAllowed: true, count: 2 });
    // A stale give-back (its hold long replaced) only un-counts.
    await store.returnAttempt(key, { ...holding, holdUntilMs: 1 });
    expect((await store.takeAttempt(key, policy)).isAllowed).toBe(false);
    // Refused attempts have nothing to give back.
    await store.returnAttempt(key, { isAllowed: false, count: 0, retryAfterMs: 0, holdUntilMs: 0 });
  });

  it('matches revoked tokens by jti, by grant digest, and by subject cut-off', async () => {
    const { revocations } = backend();
    const [jti, gid, sub] = [randomUUID(), randomUUID(), randomUUID()];
    const exp = now() + 60;
    await revocations.record({ type: 'token', jti, exp });
    await revocations.record({ type: 'grant', gid, exp });
    await revocations.record({ type: 'subject', sub, iat_before: now(), exp });
    expect(await revocations.isRevoked({ jti })).toBe(true);
    expect(await revocations.isRevoked({ jti: randomUUID(), gid })).toBe(true);
    expect(await revocations.isRevoked({ sub, iat: now() - 10 })).toBe(true);
    expect(await revocations.isRevoked({ sub, iat: now() + 10 })).toBe(false); // issued after the cut-off
    expect(await revocations.isRevoked({ jti: randomUUID(), gid: randomUUID(), sub: randomUUID(), iat: now() })).toBe(false);
  });

  it('serves the feed in order from a cursor, without events whose tokens have all expired', async () => {
    const { revocations } = backend();
    const start = (await revocations.feed(undefined, 1000)).cursor;
    const jtis = [randomUUID(), randomUUID(), randomUUID()];
    for (const jti of jtis) await revocations.record({ type: 'token', jti, exp: now() + 60 });
    await revocations.record({ type: 'token', jti: 'already-expired', exp: now() - 1 });
    const page = await revocations.feed(start, 1000);
    expect(page.events.map((e) => (e as { jti: string }).jti)).toEqual(jtis);
    const firstTwo = await revocations.feed(start, 2);
    expect(firstTwo.events).toHaveLength(2);
    const rest = await revocations.feed(firstTwo.cursor, 1000);
    expect(rest.events.map((e) => (e as { jti: string }).jti)).toEqual([jtis[2]]);
  });

  it('purges everything stored for one account and nothing of another', async () => {
    const { sessionAdapter, purge } = backend();
    const [mine, theirs] = [randomUUID(), randomUUID()];
    await sessionAdapter.upsert(mine, { accountId: 'acct-1', uid: randomUUID() }, 60);
    await sessionAdapter.upsert(theirs, { accountId: 'acct-2', uid: randomUUID() }, 60);
    expect((await purge('acct-1')).deleted).toBeGreaterThanOrEqual(1);
    expect(await sessionAdapter.find(mine)).toBeUndefined();
    expect(await sessionAdapter.find(theirs)).toBeDefined();
  });
}

describe('short-lived stores on Postgres', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let backend: Backend;
  beforeAll(async () => {
    db = await createTestDatabase();
    backend = {
      store: createPostgresShortLivedStore(db.knex),
      revocations: createPostgresRevocationList(db.knex, { commitLagSeconds: 0 }),
      purge: createAccountPurge({ knex: db.knex, redis: undefined }),
      sessionAdapter: createPostgresAdapter(db.knex, 'Session'),
    };
  });
  afterAll(() => db?.drop());
  contract(() => backend);

  it('holds a new event back from the feed for the commit lag, so no later-committed id is skipped', async () => {
    const lagged = createPostgresRevocationList(db.knex, { commitLagSeconds: 1 });
    const { cursor } = await backend.revocations.feed(undefined, 1000); // everything so far, unlagged
    const jti = randomUUID();
    await lagged.record({ type: 'token', jti, exp: now() + 60 });
    expect(await lagged.isRevoked({ jti })).toBe(true); // lookups are immediate
    expect((await lagged.feed(cursor, 1000)).events).toEqual([]);
    await vi.waitFor(async () => expect((await lagged.feed(cursor, 1000)).events).toHaveLength(1), { timeout: 4000, interval: 100 });
  });
});

describe.runIf(testRedisUrl)('short-lived stores on Redis', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: ReturnType<typeof createTestRedis>;
  let backend: Backend;
  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    backend = {
      store: createRedisShortLivedStore(redis.redis),
      revocations: createRedisRevocationList(redis.redis, { maxTokenTtlSeconds: async () => 3600 }),
      purge: createAccountPurge({ knex: db.knex, redis: redis.redis }),
      sessionAdapter: createRedisAdapter(redis.redis, 'Session'),
    };
  });
  afterAll(async () => {
    await redis?.cleanup();
    await db?.drop();
  });
  contract(() => backend);
});

// The same contract on a real three-master Redis Cluster (every command must stay in one hash slot).
describe.runIf(testRedisUrl)('short-lived stores on a Redis Cluster', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let cluster: RedisTopologyUnderTest;
  let redis: Redis;
  let backend: Backend;
  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await startRedisCluster();
    redis = createRedis({ kind: 'cluster', nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) }, { keyPrefix: 'contract:' });
    backend = {
      store: createRedisShortLivedStore(redis),
      revocations: createRedisRevocationList(redis, { maxTokenTtlSeconds: async () => 3600 }),
      purge: createAccountPurge({ knex: db.knex, redis }),
      sessionAdapter: createRedisAdapter(redis, 'Session'),
    };
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
    await db?.drop();
  });
  contract(() => backend);
});
