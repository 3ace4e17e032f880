import { randomUUID } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresAdapter } from '../src/oidc/adapters/postgres-adapter.ts';
import { createRedisAdapter } from '../src/oidc/adapters/redis-adapter.ts';
import type { Redis } from 'ioredis';
import { createRedis } from '../src/redis/create-redis.ts';
import { startRedisCluster, type RedisTopologyUnderTest } from './support/redis-topologies.ts';
import { testRedisUrl } from './support/test-env.ts';
import { createTestDatabase, createTestRedis } from './support/test-storage.ts';

/**
 * One storage contract (notes §4, §5), run against every backend of oidc-provider's adapter seam,
 * as hydra runs one suite against every database. Each case uses fresh ids, so cases share a backend.
 */
type Backend = {
  adapter: (model: string) => Adapter;
  /** Redis only: TTL of the raw entry key (-2 = no key, -1 = a key that never expires). */
  keyTtl?: (model: string, id: string) => Promise<number>;
};

const newId = () => randomUUID();
const IMPLAUSIBLE_IDS = ['\u0000', `abc\u0000def`, 'x'.repeat(1000)];

/** The oidc-provider error a rejected promise carries (its OAuth `error` code), or a failure. */
async function providerError(promise: Promise<unknown>): Promise<string> {
  const reason = await promise.then(
    () => expect.fail('expected the call to reject'),
    (err: unknown) => err,
  );
  expect(reason).toBeInstanceOf(errors.OIDCProviderError);
  return (reason as InstanceType<typeof errors.OIDCProviderError>).error;
}

/** The contract cases; the caller's describe owns the storage (created in beforeAll, dropped in afterAll). */
function contract(getBackend: () => Backend) {
  describe('adapter contract', () => {
    const adapter = (model: string) => getBackend().adapter(model);
    // Redis: neither a key without TTL nor any key at all may be left behind (TTL -2 = no such key).
    const expectNoKeyLeft = async (model: string, id: string) => {
      const keyTtl = getBackend().keyTtl;
      if (keyTtl) expect(await keyTtl(model, id)).toBe(-2);
    };

    it('finds an upserted payload, replaces it on a second upsert, and finds nothing for an unknown id', async () => {
      const sessions = adapter('Session');
      const id = newId();
      await sessions.upsert(id, { uid: newId(), accountId: 'a1', kind: 'Session' }, 60);
      expect(await sessions.find(id)).toMatchObject({ accountId: 'a1' });
      await sessions.upsert(id, { uid: newId(), accountId: 'a2', kind: 'Session' }, 60);
      expect(await sessions.find(id)).toMatchObject({ accountId: 'a2' });
      expect(await sessions.find(newId())).toBeUndefined();
    });

    it('hides an entry once its expiresIn has passed', async () => {
      const interactions = adapter('Interaction');
      const id = newId();
      await interactions.upsert(id, { kind: 'Interaction' }, 1);
      expect(await interactions.find(id)).toBeDefined();
      await vi.waitFor(async () => expect(await interactions.find(id)).toBeUndefined(), { timeout: 4000, interval: 100 });
    });

    it('finds a Session by its uid and a DeviceCode by its userCode', async () => {
      const id = newId();
      const uid = newId();
      await adapter('Session').upsert(id, { uid, accountId: 'a1', kind: 'Session' }, 60);
      expect(await adapter('Session').findByUid(uid)).toMatchObject({ uid, accountId: 'a1' });
      expect(await adapter('Session').findByUid(newId())).toBeUndefined();

      const deviceId = newId();
      const userCode = `WDJB-${newId().slice(0, 4)}`;
      await adapter('DeviceCode').upsert(deviceId, { userCode, clientId: 'c1', kind: 'DeviceCode' }, 60);
      expect(await adapter('DeviceCode').findByUserCode(userCode)).toMatchObject({ userCode, clientId: 'c1' });
      expect(await adapter('DeviceCode').findByUserCode('XXXX-XXXX')).toBeUndefined();
    });

    it('marks a consumed entry and rejects a second consume with invalid_grant', async () => {
      const codes = adapter('AuthorizationCode');
      const id = newId();
      await codes.upsert(id, { grantId: newId(), kind: 'AuthorizationCode' }, 60);
      expect((await codes.find(id))?.consumed).toBeFalsy();
      await codes.consume(id);
      expect((await codes.find(id))?.consumed).toBeTruthy();
      expect(await providerError(codes.consume(id))).toBe('invalid_grant');
    });

    it('rejects a second consume of a pushed authorization request with invalid_request_uri', async () => {
      const par = adapter('PushedAuthorizationRequest');
      const id = newId();
      await par.upsert(id, { kind: 'PushedAuthorizationRequest', request: 'eyJ.e30.' }, 60);
      await par.consume(id);
      expect(await providerError(par.consume(id))).toBe('invalid_request_uri');
    });

    it.each(['AuthorizationCode', 'RefreshToken'])('lets exactly one of 20 concurrent consumes of a %s win', async (model) => {
      const store = adapter(model);
      const id = newId();
      await store.upsert(id, { grantId: newId(), kind: model }, 60);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.consume(id)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect(r.reason).toBeInstanceOf(errors.InvalidGrant);
      }
      expect((await store.find(id))?.consumed).toBeTruthy();
    });

    it('rejects consume of an unknown id without creating an entry', async () => {
      const codes = adapter('AuthorizationCode');
      const id = newId();
      expect(await providerError(codes.consume(id))).toBe('invalid_grant');
      expect(await codes.find(id)).toBeUndefined();
      await expectNoKeyLeft('AuthorizationCode', id);
    });

    it('rejects consume of an expired entry without bringing it back', async () => {
      const codes = adapter('AuthorizationCode');
      const id = newId();
      await codes.upsert(id, { grantId: newId(), kind: 'AuthorizationCode' }, 1);
      await vi.waitFor(async () => expect(await codes.find(id)).toBeUndefined(), { timeout: 4000, interval: 100 });
      expect(await providerError(codes.consume(id))).toBe('invalid_grant');
      expect(await codes.find(id)).toBeUndefined();
      // A consume that recreated the key (HSETNX after expiry) would leave it without a TTL, forever.
      await expectNoKeyLeft('AuthorizationCode', id);
    });

    it('destroys an entry', async () => {
      const grants = adapter('Grant');
      const id = newId();
      await grants.upsert(id, { accountId: 'a1', clientId: 'c1', kind: 'Grant' }, 60);
      await grants.destroy(id);
      expect(await grants.find(id)).toBeUndefined();
    });

    it("revokes by grantId only this model's entries of that grant", async () => {
      const grantId = newId();
      const otherGrantId = newId();
      const [revoked, otherGrant, otherModel] = [newId(), newId(), newId()];
      await adapter('AccessToken').upsert(revoked, { grantId, kind: 'AccessToken' }, 60);
      await adapter('AccessToken').upsert(otherGrant, { grantId: otherGrantId, kind: 'AccessToken' }, 60);
      await adapter('RefreshToken').upsert(otherModel, { grantId, kind: 'RefreshToken' }, 60);

      await adapter('AccessToken').revokeByGrantId(grantId);
      expect(await adapter('AccessToken').find(revoked)).toBeUndefined();
      expect(await adapter('AccessToken').find(otherGrant)).toMatchObject({ grantId: otherGrantId });
      expect(await adapter('RefreshToken').find(otherModel)).toMatchObject({ grantId });

      // oidc-provider calls it once per model; the other model's call still finds its entries.
      await adapter('RefreshToken').revokeByGrantId(grantId);
      expect(await adapter('RefreshToken').find(otherModel)).toBeUndefined();
    });

    it.each(IMPLAUSIBLE_IDS.map((id) => [JSON.stringify(id).slice(0, 24), id]))(
      'answers undefined, without throwing, for the implausible id %s',
      async (_label, id) => {
        expect(await adapter('AccessToken').find(id)).toBeUndefined();
        expect(await adapter('Session').findByUid(id)).toBeUndefined();
        expect(await adapter('DeviceCode').findByUserCode(id)).toBeUndefined();
      },
    );

    it('round-trips a JSON payload exactly', async () => {
      const payload = {
        kind: 'Interaction',
        nested: { deeper: { list: [1, 'two', null, true, { empty: [] }, []], empty: {} } },
        unicode: 'héllo — 日本語 🚀 \u2028 "quoted" \\ back\tslash, and the text \\u0000 (not a NUL)',
        emptyString: '',
        numbers: [0, -1, 1.5, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e21, 5e-324],
        claims: { id_token: { email: { essential: true } } },
      } as unknown as AdapterPayload;
      const id = newId();
      await adapter('Interaction').upsert(id, payload, 60);
      expect(await adapter('Interaction').find(id)).toStrictEqual(payload);
    });

    // A request's state or nonce lands in payloads. jsonb cannot hold U+0000, so Postgres may
    // refuse such a payload, but as a 400, never a driver error (a 500 server_error).
    it('stores a payload holding U+0000 exactly or refuses it with invalid_request', async () => {
      const payload = { kind: 'Interaction', params: { state: 'a\u0000b' } } as unknown as AdapterPayload;
      const id = newId();
      const refused = await adapter('Interaction').upsert(id, payload, 60).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (refused) {
        expect(refused).toBeInstanceOf(errors.InvalidRequest);
        expect(await adapter('Interaction').find(id)).toBeUndefined();
      } else {
        expect(await adapter('Interaction').find(id)).toStrictEqual(payload);
      }
    });
  });
}

describe('Postgres', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  contract(() => ({ adapter: (model) => createPostgresAdapter(db.knex, model) }));

  it('keeps entries for a new adapter instance on the same database', async () => {
    const id = newId();
    await createPostgresAdapter(db.knex, 'RefreshToken').upsert(id, { grantId: 'g1', kind: 'RefreshToken' }, 60);
    expect(await createPostgresAdapter(db.knex, 'RefreshToken').find(id)).toMatchObject({ grantId: 'g1' });
  });
});

describe.runIf(testRedisUrl)('Redis', () => {
  let testRedis: ReturnType<typeof createTestRedis>;
  beforeAll(() => {
    testRedis = createTestRedis();
  });
  afterAll(async () => {
    await testRedis?.cleanup();
  });

  contract(() => ({
    adapter: (model) => createRedisAdapter(testRedis.redis, model),
    // ioredis applies keyPrefix to TTL, so this reads the very key the adapter writes.
    keyTtl: (model, id) => testRedis.redis.ttl(`${model}:${id}`),
  }));
});

// The same contract on a real three-master Redis Cluster: an entry and its indexes live in
// different hash slots, so any multi-key command would fail here with CROSSSLOT.
describe.runIf(testRedisUrl)('Redis Cluster', () => {
  let cluster: RedisTopologyUnderTest;
  let redis: Redis;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = createRedis({ kind: 'cluster', nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) }, { keyPrefix: 'contract:' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  contract(() => ({
    adapter: (model) => createRedisAdapter(redis, model),
    keyTtl: (model, id) => redis.ttl(`${model}:${id}`),
  }));
});
