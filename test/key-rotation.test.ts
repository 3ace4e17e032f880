import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDatabaseUrl } from './support/test-env.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.rotation.test';

async function provision(gh: TestGatehouse) {
  await gh.services.resources.createResource({ identifier: API, scope: 'read' });
  const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'svc', resources: [API], scope: 'read' });
  return { clientId: client.client_id, clientSecret: clientSecret! };
}

async function token(gh: TestGatehouse, c: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`${c.clientId}:${c.clientSecret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=read',
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const jwks = async (gh: TestGatehouse) => (await (await fetch(`${gh.issuer}/jwks`)).json()) as JSONWebKeySet;
const kids = async (gh: TestGatehouse) => (await jwks(gh)).keys.map((k) => k.kid).sort();
const signer = (jwt: string) => decodeProtectedHeader(jwt).kid;

describe('signing-key rotation without restarts', () => {
  let now = Date.now();
  const gh = useTestGatehouse({}, { clock: () => new Date(now) });
  let client: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    client = await provision(gh);
  });

  it('announces a rotated key in the JWKS before it signs, then signs with it, then drops the old key once its tokens expired', async () => {
    const res = await fetch(`${gh.issuer}/jwks`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=600');
    const [original] = await kids(gh);
    const before = await token(gh, client);
    expect(signer(before)).toBe(original);

    const next = await gh.services.signingKeys.rotate();
    await gh.runKeySchedule();
    expect(await kids(gh)).toEqual([original, next.kid].sort());
    expect(signer(await token(gh, client))).toBe(original); // announced, not signing yet

    now += 661_000; // past the JWKS max-age plus the propagation margin
    await gh.runKeySchedule();
    const after = await token(gh, client);
    expect(signer(after)).toBe(next.kid);
    const keys = createLocalJWKSet(await jwks(gh));
    await expect(jwtVerify(before, keys, { audience: API })).resolves.toBeTruthy(); // old tokens still verify
    await expect(jwtVerify(after, keys, { audience: API })).resolves.toBeTruthy();
    expect((await gh.services.signingKeys.listKeys()).find((k) => k.kid === original)?.status).toBe('retired');

    now += (3600 + 15 + 60) * 1000; // the longest token lifetime plus skew and margin
    await gh.runKeySchedule();
    expect(await kids(gh)).toEqual([next.kid]);
  });

  it('answers every request while a key change swaps the Provider underneath', async () => {
    const inFlight = Array.from({ length: 40 }, () => token(gh, client)); // each asserts a 200
    for (let i = 0; i < 4; i += 1) await gh.reload();
    const tokens = await Promise.all(inFlight);
    expect(tokens).toHaveLength(40);
  });

  it('revokes a compromised key at once: unpublished, a fresh key signs, its tokens stop verifying', async () => {
    const victim = signer(await token(gh, client))!;
    const stolen = await token(gh, client);
    const { nowSigning } = await gh.services.signingKeys.revoke(victim);
    await gh.runKeySchedule();
    expect(await kids(gh)).not.toContain(victim);
    expect(signer(await token(gh, client))).toBe(nowSigning);
    await expect(jwtVerify(stolen, createLocalJWKSet(await jwks(gh)), { audience: API })).rejects.toThrow();
  });
});

describe.runIf(testDatabaseUrl)('signing keys across instances', () => {
  const storage = newStorage();
  let a: TestGatehouse;
  let b: TestGatehouse;
  let client: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestGatehouse(storage), startTestGatehouse(storage)]);
    client = await provision(a);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropStorage(storage);
  });

  it('creates exactly one active key when two instances start together', async () => {
    const keys = await a.services.signingKeys.listKeys();
    expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
    expect(await kids(a)).toEqual(await kids(b));
  });

  it('lets another instance pick up a rotation and a revocation within seconds, without a restart', async () => {
    const next = await a.services.signingKeys.rotate(); // tells every instance itself
    await vi.waitFor(async () => expect(await kids(b)).toContain(next.kid), { timeout: 5000, interval: 100 });

    const { nowSigning } = await a.services.signingKeys.revoke(signer(await token(b, client))!);
    expect(nowSigning).toBe(next.kid); // the announced key takes over: caches already have it
    await vi.waitFor(async () => expect(signer(await token(b, client))).toBe(next.kid), { timeout: 5000, interval: 100 });
  });

  it('performs a due scheduled step on exactly one instance', async () => {
    const results = await Promise.all([a.services.signingKeys.rotate(), b.services.signingKeys.rotate()]);
    expect(results[0].kid).toBe(results[1].kid);
    const pending = (await a.services.signingKeys.listKeys()).filter((k) => k.status === 'next');
    expect(pending).toHaveLength(1);
  });
});
