import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresAdapter } from '../src/oidc/adapters/postgres-adapter.ts';
import { createRedisAdapter } from '../src/oidc/adapters/redis-adapter.ts';
import { storedId } from '../src/oidc/adapters/stored-entry.ts';
import { createRedis } from '../src/redis/create-redis.ts';
import { type RedisTopologyUnderTest, startRedisCluster } from './support/redis-topologies.ts';
import { testRedisUrl } from './support/test-env.ts';
import { createTestDatabase, createTestRedis } from './support/test-storage.ts';

/**
 * One storage contract (notes §4, §5), run against every backend of oidc-provider's adapter seam,
 * as hydra runs one suite against every database. Each case uses fresh ids, so cases share a backend.
 */
type Backend = {
  adapter: (model: string) => Adapter;
  /** Redis only: TTL of the entry's key (-2 = no key, -1 = a key that never expires). */
  keyTtl?: (model: string, id: string) => Promise<number>;
  /** Everything the backend holds, as text: what a backup or a dump would show. */
  dump: () => Promise<string>;
  /** Writes an entry as the adapter did before ids were digests (raw id, jti in the payload, raw index entries). */
  writeLegacy: (model: string, id: string, payload: AdapterPayload, expiresIn: number) => Promise<void>;
};

/** Every key under a prefix with its value, on one Redis server (a bare client: SCAN patterns are not prefixed). */
async function dumpRedisServer(bare: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await bare.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    for (const key of keys) {
      const type = await bare.type(key);
      const value = type === 'hash' ? await bare.hgetall(key) : type === 'set' ? await bare.smembers(key) : type === 'string' ? await bare.get(key) : type;
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
    cursor = next;
  } while (cursor !== '0');
  return parts.join('\n');
}

/** The pre-digest Redis format: a hash under the raw id, raw ids in the grant/account sets and the uid pointer. */
async function writeLegacyRedis(redis: Redis, model: string, id: string, payload: AdapterPayload, expiresIn: number) {
  const key = `${model}:${id}`;
  if (payload.grantId) await redis.sadd(`grant:${payload.grantId}`, key);
  if (payload.accountId) await redis.sadd(`account:${payload.accountId}`, key);
  if (payload.uid) await redis.set(`${model}:uid:${payload.uid}`, id, 'EX', expiresIn);
  await redis.hset(key, 'payload', JSON.stringify({ ...payload, jti: id }));
  await redis.expire(key, expiresIn);
}

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

    // The two that wait out a one-second expiry wait together.
    it.concurrent('hides an entry once its expiresIn has passed', async () => {
      const interactions = adapter('Interaction');
      const id = newId();
      await interactions.upsert(id, { kind: 'Interaction' }, 1);
      expect(await interactions.find(id)).toBeDefined();
      await vi.waitFor(async () => expect(await interactions.find(id)).toBeUndefined(), { timeout: 4000, interval: 100 });
    });

    it.concurrent('rejects consume of an expired entry without bringing it back', async () => {
      const codes = adapter('AuthorizationCode');
      const id = newId();
      await codes.upsert(id, { grantId: newId(), kind: 'AuthorizationCode' }, 1);
      await vi.waitFor(async () => expect(await codes.find(id)).toBeUndefined(), { timeout: 4000, interval: 100 });
      expect(await providerError(codes.consume(id))).toBe('invalid_grant');
      expect(await codes.find(id)).toBeUndefined();
      // A consume that recreated the key (HSETNX after expiry) would leave it without a TTL, forever.
      await expectNoKeyLeft('AuthorizationCode', id);
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

    // oidc-provider's payloads carry their id as jti (notes §4); it comes back though it is stored only as a digest.
    it('round-trips a JSON payload exactly', async () => {
      const id = newId();
      const payload = {
        jti: id,
        kind: 'Interaction',
        nested: { deeper: { list: [1, 'two', null, true, { empty: [] }, []], empty: {} } },
        unicode: 'héllo — 日本語 🚀 \u2028 "quoted" \\ back\tslash, and the text \\u0000 (not a NUL)',
        emptyString: '',
        numbers: [0, -1, 1.5, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e21, 5e-324],
        claims: { id_token: { email: { essential: true } } },
      } as unknown as AdapterPayload;
      await adapter('Interaction').upsert(id, payload, 60);
      expect(await adapter('Interaction').find(id)).toStrictEqual(payload);
      // The same payload for a model that is not sealed.
      await adapter('AccessToken').upsert(id, { ...payload, kind: 'AccessToken' }, 60);
      expect(await adapter('AccessToken').find(id)).toStrictEqual({ ...payload, kind: 'AccessToken' });
    });

    // A request's state or nonce lands in payloads. jsonb cannot hold U+0000, so Postgres may
    // refuse such a payload, but as a 400, never a driver error (a 500 server_error).
    it('stores a payload holding U+0000 exactly or refuses it with invalid_request', async () => {
      const id = newId();
      const payload = { jti: id, kind: 'Interaction', params: { state: 'a\u0000b' } } as unknown as AdapterPayload;
      const refused = await adapter('Interaction')
        .upsert(id, payload, 60)
        .then(
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

    // A backup or a Redis dump must not hand out working tokens: every token, code, session and
    // interaction id is stored as a digest, and no payload or index holds one in the clear.
    it('keeps no token, code, session or interaction id in the clear, in entries, payloads or indexes', async () => {
      const session = newId();
      const token = newId();
      const refresh = newId();
      const code = newId();
      const par = newId();
      const interaction = newId();
      const grantId = newId();
      const uid = newId();
      const accountId = newId();
      await adapter('Session').upsert(session, { jti: session, uid, accountId, kind: 'Session' }, 60);
      await adapter('AccessToken').upsert(token, { jti: token, grantId, accountId, sessionUid: uid, kind: 'AccessToken' }, 60);
      await adapter('RefreshToken').upsert(refresh, { jti: refresh, grantId, accountId, kind: 'RefreshToken' }, 60);
      await adapter('AuthorizationCode').upsert(code, { jti: code, grantId, accountId, kind: 'AuthorizationCode' }, 60);
      await adapter('PushedAuthorizationRequest').upsert(par, { jti: par, kind: 'PushedAuthorizationRequest', request: 'eyJ.e30.' }, 60);
      // oidc-provider's Interaction names the session cookie, the PAR, its own uid and the client's hint.
      const idTokenHint = `eyJhbGciOiJSUzI1NiJ9.${newId()}.sig`;
      await adapter('Interaction').upsert(
        interaction,
        {
          jti: interaction,
          kind: 'Interaction',
          returnTo: `https://id.example/auth/${interaction}`,
          session: { accountId, uid, cookie: session },
          parJti: par,
          grantId,
          params: { client_id: 'c1', id_token_hint: idTokenHint },
        } as unknown as AdapterPayload,
        60,
      );
      await adapter('AuthorizationCode').consume(code);

      const dump = await getBackend().dump();
      expect(dump).toContain(storedId('RefreshToken', refresh)); // the dump did see the entries
      for (const value of [session, token, refresh, code, par, interaction, idTokenHint]) expect(dump).not.toContain(value);
      // Found by what the client holds, each with its id back as jti.
      expect(await adapter('Session').find(session)).toMatchObject({ jti: session, uid, accountId });
      expect(await adapter('Session').findByUid(uid)).toMatchObject({ uid, accountId });
      expect(await adapter('AccessToken').find(token)).toMatchObject({ jti: token, grantId });
      expect(await adapter('AuthorizationCode').find(code)).toMatchObject({ jti: code, consumed: expect.any(Number) });
      expect(await adapter('Interaction').find(interaction)).toMatchObject({ jti: interaction, parJti: par, session: { cookie: session } });
    });

    it('finds nothing under the digest an entry is stored under, and lets no one consume or destroy it by that digest', async () => {
      for (const model of ['Session', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'PushedAuthorizationRequest', 'Interaction']) {
        const id = newId();
        const uid = newId();
        await adapter(model).upsert(id, { jti: id, kind: model, grantId: newId(), uid }, 60);
        const digest = storedId(model, id);
        expect(await adapter(model).find(digest), model).toBeUndefined();
        await adapter(model).destroy(digest);
        if (model !== 'Session' && model !== 'Interaction')
          expect(await providerError(adapter(model).consume(digest))).toMatch(/^invalid_(grant|request_uri)$/);
        expect(await adapter(model).find(id), model).toMatchObject({ jti: id });
        expect((await adapter(model).find(id))?.consumed, model).toBeFalsy();
      }
    });

    // Upgrading: entries written before digests keep working until they expire or are migrated.
    it('finds, consumes, revokes and destroys entries written before ids were digests', async () => {
      const { writeLegacy } = getBackend();
      const session = newId();
      const uid = newId();
      const code = newId();
      const token = newId();
      const grantId = newId();
      const accountId = newId();
      await writeLegacy('Session', session, { uid, accountId, kind: 'Session' }, 60);
      await writeLegacy('AuthorizationCode', code, { grantId, accountId, kind: 'AuthorizationCode' }, 60);
      await writeLegacy('AccessToken', token, { grantId, kind: 'AccessToken' }, 60);

      expect(await adapter('Session').find(session)).toMatchObject({ jti: session, uid, accountId });
      expect(await adapter('Session').findByUid(uid)).toMatchObject({ jti: session, accountId });
      await adapter('AuthorizationCode').consume(code);
      expect((await adapter('AuthorizationCode').find(code))?.consumed).toBeTruthy();
      expect(await providerError(adapter('AuthorizationCode').consume(code))).toBe('invalid_grant');
      await adapter('AccessToken').revokeByGrantId(grantId);
      expect(await adapter('AccessToken').find(token)).toBeUndefined();

      // Saved again by the new code (a Session is re-saved on use), then destroyed: no twin survives.
      await adapter('Session').upsert(session, { jti: session, uid, accountId, kind: 'Session', loginTs: 1 }, 60);
      expect(await adapter('Session').find(session)).toMatchObject({ loginTs: 1 });
      await adapter('Session').destroy(session);
      expect(await adapter('Session').find(session)).toBeUndefined();
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

  contract(() => ({
    adapter: (model) => createPostgresAdapter(db.knex, model),
    dump: async () => JSON.stringify(await db.knex('oidc_payloads').select('*')),
    writeLegacy: async (model, id, payload, expiresIn) => {
      await db.knex('oidc_payloads').insert({
        model,
        id,
        payload: JSON.stringify({ ...payload, jti: id }),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        account_id: payload.accountId ?? null,
        expires_at: new Date(Date.now() + expiresIn * 1000),
      });
    },
  }));

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
    keyTtl: (model, id) => testRedis.redis.ttl(`${model}:${storedId(model, id)}`),
    dump: async () => {
      const bare = new Redis(testRedisUrl!);
      try {
        return await dumpRedisServer(bare, testRedis.prefix);
      } finally {
        bare.disconnect();
      }
    },
    writeLegacy: (model, id, payload, expiresIn) => writeLegacyRedis(testRedis.redis, model, id, payload, expiresIn),
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
    keyTtl: (model, id) => redis.ttl(`${model}:${storedId(model, id)}`),
    // Each master holds its own slots: the dump is every node's keys.
    dump: async () => {
      const parts: string[] = [];
      for (const port of cluster.ports) {
        const bare = new Redis({ port, host: '127.0.0.1' });
        try {
          parts.push(await dumpRedisServer(bare, 'contract:'));
        } finally {
          bare.disconnect();
        }
      }
      return parts.join('\n');
    },
    writeLegacy: (model, id, payload, expiresIn) => writeLegacyRedis(redis, model, id, payload, expiresIn),
  }));
});
