import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '../src/verifier/index.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const RSA_API = 'https://rsa.algs.test';
const EC_API = 'https://ec.algs.test';
const ED_API = 'https://ed.algs.test';
const ANNOUNCE_MS = 661_000; // the JWKS max-age (600 s) plus the propagation margin

type Client = { id: string; secret: string };

describe('per-API signing algorithms (ES256, EdDSA) with announce-then-sign', () => {
  let now = Date.now();
  const gh = useTestGatehouse({}, { clock: () => new Date(now) });
  let client: Client;

  const token = async (resource: string): Promise<string> => {
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource }).toString(),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const jwks = async () => (await (await fetch(`${gh.issuer}/jwks`)).json()) as JSONWebKeySet;
  const alg = (jwt: string) => decodeProtectedHeader(jwt).alg;
  const keysOf = async (a: string) => (await gh.services.signingKeys.listKeys()).filter((k) => k.alg === a);
  const forwardAuth = (jwt: string, api: string) =>
    fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(api)}&scope=read`, { headers: { authorization: `Bearer ${jwt}` } });

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: RSA_API, scope: 'read' });
    await gh.services.resources.createResource({ identifier: EC_API, scope: 'read', signingAlg: 'ES256' });
    await gh.services.resources.createResource({ identifier: ED_API, scope: 'read' });
    const { client: c, clientSecret } = await gh.services.clients.registerClient({ name: 'svc', resources: [RSA_API, EC_API, ED_API], scope: 'read' });
    client = { id: c.client_id, secret: clientSecret! };
  });

  it('refuses an algorithm it cannot sign with', async () => {
    await expect(gh.services.resources.createResource({ identifier: 'https://hs.algs.test', scope: 'read', signingAlg: 'HS256' })).rejects.toThrow(
      /one of RS256, ES256, EdDSA/,
    );
    await expect(gh.services.resources.updateResource(ED_API, { signingAlg: 'none' })).rejects.toThrow(/one of/);
  });

  it('announces the chosen algorithm’s key first, signing RS256 until every cached JWKS has it, then signs ES256', async () => {
    const [announced] = await keysOf('ES256');
    expect(announced).toMatchObject({ status: 'next' });
    await gh.runKeySchedule();
    const published = (await jwks()).keys.find((k) => k.kid === announced!.kid);
    expect(published).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published).not.toHaveProperty('d');
    expect(alg(await token(EC_API))).toBe('RS256'); // announced, not signing yet

    now += ANNOUNCE_MS;
    await gh.runKeySchedule();
    const ec = await token(EC_API);
    expect(decodeProtectedHeader(ec)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: announced!.kid });
    expect(alg(await token(RSA_API))).toBe('RS256'); // other APIs keep the default
    await expect(jwtVerify(ec, createLocalJWKSet(await jwks()), { issuer: gh.issuer, audience: EC_API, algorithms: ['ES256'] })).resolves.toBeTruthy();
    // Discovery still says what the engine signs itself with.
    const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as { id_token_signing_alg_values_supported: string[] };
    expect(meta.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });

  it('is checked by the verifier pinned to the API’s algorithm, by forward-auth and by introspection', async () => {
    const ec = await token(EC_API);
    const pinned = createVerifier({ issuer: gh.issuer, audience: EC_API, algorithms: ['ES256'], logger: { warn: () => {} } });
    const rsaOnly = createVerifier({ issuer: gh.issuer, audience: EC_API, logger: { warn: () => {} } }); // the default pin: RS256
    try {
      await expect(pinned.verify(ec)).resolves.toMatchObject({ aud: EC_API, scope: ['read'] });
      await expect(rsaOnly.verify(ec)).rejects.toThrow();
    } finally {
      await pinned.close();
      await rsaOnly.close();
    }
    expect((await forwardAuth(ec, EC_API)).status).toBe(200);
    const introspection = await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ec }).toString(),
    });
    expect(await introspection.json()).toMatchObject({ active: true, aud: EC_API });
  });

  it('rotates and revokes an ES256 key like an RS256 one', async () => {
    const next = await gh.services.signingKeys.rotate('ES256');
    expect(next.alg).toBe('ES256');
    await gh.runKeySchedule();
    const before = await token(EC_API);
    expect(decodeProtectedHeader(before).kid).not.toBe(next.kid);
    now += ANNOUNCE_MS;
    await gh.runKeySchedule();
    const after = await token(EC_API);
    expect(decodeProtectedHeader(after).kid).toBe(next.kid);
    expect((await forwardAuth(before, EC_API)).status).toBe(200); // the retired key stays published

    const { nowSigning } = await gh.services.signingKeys.revoke(next.kid);
    await gh.runKeySchedule();
    expect((await jwks()).keys.map((k) => k.kid)).not.toContain(next.kid);
    expect((await forwardAuth(after, EC_API)).status).toBe(401);
    const fresh = await token(EC_API);
    expect(decodeProtectedHeader(fresh)).toMatchObject({ alg: 'ES256', kid: nowSigning });
    expect((await keysOf('RS256')).filter((k) => k.status === 'active')).toHaveLength(1); // RS256 untouched
  });

  it('switches an API to EdDSA, and retires the key of an algorithm no API uses any more', async () => {
    await gh.services.resources.updateResource(ED_API, { signingAlg: 'EdDSA' });
    await gh.services.resources.updateResource(EC_API, { signingAlg: 'RS256' });
    await gh.runKeySchedule();
    expect(alg(await token(ED_API))).toBe('RS256');
    expect(alg(await token(EC_API))).toBe('RS256');
    expect((await keysOf('ES256')).map((k) => k.status)).not.toContain('active');

    now += ANNOUNCE_MS;
    await gh.runKeySchedule();
    const ed = await token(ED_API);
    expect(decodeProtectedHeader(ed)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect((await jwks()).keys.find((k) => k.kid === decodeProtectedHeader(ed).kid)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect((await forwardAuth(ed, ED_API)).status).toBe(200);

    now += (3600 + 15 + 60) * 1000; // the retired ES256 keys' tokens have expired
    await gh.runKeySchedule();
    expect(await keysOf('ES256')).toEqual([]);
  });
});
