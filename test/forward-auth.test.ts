import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportSPKI, generateKeyPair, importJWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.forward-auth.test';
const OTHER_API = 'https://other.forward-auth.test';
type Creds = { id: string; secret: string };

describe('forward auth (gateway mode)', () => {
  let now = Date.now();
  const gh = useTestGatehouse({}, { clock: () => new Date(now) });
  let reader: Creds;
  let writer: Creds;
  let outsider: Creds;

  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const post = (path: string, c: Creds, body: Record<string, string>) =>
    fetch(`${gh.issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const tokenFor = async (c: Creds, scope: string) => {
    const res = await post('/token', c, { grant_type: 'client_credentials', scope });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const check = (token?: string, query = `audience=${encodeURIComponent(API)}&scope=read`, init: RequestInit = {}) =>
    fetch(`${gh.issuer}/forward-auth?${query}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as object) } });
  /** An access token signed with Gatehouse's own active key, with the claims a test needs. */
  const forge = async (claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}) => {
    const [jwk] = await gh.services.signingKeys.loadProviderKeys();
    const seconds = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: gh.issuer,
      aud: API,
      sub: reader.id,
      client_id: reader.id,
      jti: randomUUID(),
      iat: seconds,
      exp: seconds + 300,
      scope: 'read',
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: jwk!.kid, ...header })
      .sign(await importJWK(jwk!, 'RS256'));
  };
  const register = async (name: string, scope: string, resource = API) => {
    const { client, clientSecret } = await gh.services.clients.registerClient({ name, scope, resources: [resource] });
    return { id: client.client_id, secret: clientSecret! };
  };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.resources.createResource({ identifier: OTHER_API, scope: 'read' });
    reader = await register('reader', 'read');
    writer = await register('writer', 'read write');
    outsider = await register('outsider', 'read', OTHER_API);
  });

  it('answers 200 with identity headers and no-store for a valid token', async () => {
    const res = await check(await tokenFor(writer, 'read write'));
    expect(res.status).toBe(200);
    expect(Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-auth-')))).toEqual({
      'x-auth-subject': writer.id, // client credentials: the client is the subject
      'x-auth-client-id': writer.id,
      'x-auth-scope': 'read write',
      'x-auth-audience': API,
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('accepts whatever method the gateway forwards, without reading a body', async () => {
    const token = await tokenFor(reader, 'read');
    for (const method of ['POST', 'DELETE', 'HEAD', 'OPTIONS']) expect((await check(token, undefined, { method })).status).toBe(200);
  });

  it('challenges a request without a bearer token with 401 and no error code (RFC 6750 §3.1)', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const res = await check(undefined, undefined, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}"`);
    }
  });

  it.each<[string, string, () => Promise<string>]>([
    ['malformed', 'the token is not a JWT', async () => 'not-a-jwt'],
    [
      'tampered',
      'the signature is invalid',
      async () => {
        const [h, p, s] = (await tokenFor(reader, 'read')).split('.');
        const claims = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'read write' };
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      },
    ],
    ['expired', 'the token has expired', async () => forge({ iat: Math.floor(Date.now() / 1000) - 120, exp: Math.floor(Date.now() / 1000) - 60 })],
    ['not yet valid', 'the token is not valid yet', async () => forge({ nbf: Math.floor(Date.now() / 1000) + 120 })],
    ['for another issuer', 'unexpected iss claim', async () => forge({ iss: 'https://elsewhere.test' })],
    ['for another audience', 'unexpected aud claim', async () => tokenFor(outsider, 'read')],
    ['not an access token (typ JWT)', 'the token is not an access token (typ must be at+jwt)', async () => forge({}, { typ: 'JWT' })],
    [
      'signed with an unknown key',
      'the token was signed by an unknown key',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ iss: gh.issuer, aud: API, sub: 'x', client_id: 'x', jti: 'j', scope: 'read' })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown' })
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      },
    ],
    [
      'unsigned (alg none)',
      'the signing algorithm is not allowed',
      async () => {
        const [, p] = (await tokenFor(reader, 'read')).split('.');
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
      },
    ],
    [
      'HS256 keyed with the public key',
      'the signing algorithm is not allowed',
      async () => {
        const [jwk] = (await (await fetch(`${gh.issuer}/jwks`)).json()).keys;
        const pem = await exportSPKI((await importJWK(jwk, 'RS256')) as CryptoKey);
        const [, p] = (await tokenFor(reader, 'read')).split('.');
        return new SignJWT(JSON.parse(Buffer.from(p!, 'base64url').toString()))
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid })
          .sign(new TextEncoder().encode(pem));
      },
    ],
    [
      'DPoP-bound (cnf.jkt) presented as a bearer token',
      'a DPoP-bound token cannot be used as a bearer token',
      async () => forge({ cnf: { jkt: 'bm90LWEtcmVhbC10aHVtYnByaW50' } }),
    ],
  ])('refuses a token that is %s with 401 invalid_token: %s', async (_name, description, make) => {
    const res = await check(await make());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}", error="invalid_token", error_description="${description}"`);
    expect(res.headers.get('x-auth-subject')).toBeNull();
  });

  it('answers 403 insufficient_scope naming every scope required', async () => {
    const res = await check(await tokenFor(reader, 'read'), `audience=${encodeURIComponent(API)}&scope=read+write`);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="${gh.issuer}", error="insufficient_scope", error_description="the token lacks a required scope", scope="read write"`,
    );
  });

  it('refuses a token revoked at /token/revocation (RFC 7009) within seconds', async () => {
    const token = await tokenFor(reader, 'read');
    expect((await check(token)).status).toBe(200);
    expect((await post('/token/revocation', reader, { token })).status).toBe(200);
    await vi.waitFor(async () => expect((await check(token)).headers.get('www-authenticate')).toContain('the token has been revoked'), {
      timeout: 5000,
      interval: 100,
    });
  });

  it("refuses tokens of a revoked grant, and a signed-out user's tokens issued up to the cut-off", async () => {
    const seconds = Math.floor(Date.now() / 1000);
    const ofGrant = await forge({ gid: 'grant-digest-1' });
    const before = await forge({ sub: 'user-1', iat: seconds - 5 });
    const after = await forge({ sub: 'user-1', iat: seconds + 5 });
    for (const t of [ofGrant, before, after]) expect((await check(t)).status).toBe(200);
    await gh.services.revocations.record({ type: 'grant', gid: 'grant-digest-1', exp: seconds + 600 });
    await gh.services.revocations.record({ type: 'subject', sub: 'user-1', iat_before: seconds, exp: seconds + 600 });
    await vi.waitFor(async () => expect((await check(before)).status).toBe(401), { timeout: 5000, interval: 100 });
    expect((await check(ofGrant)).status).toBe(401);
    expect((await check(after)).status).toBe(200);
  });

  it('verifies with a rotated key without a restart, and refuses what a revoked key signed at once', async () => {
    const oldToken = await tokenFor(reader, 'read');
    expect((await check(oldToken)).status).toBe(200);
    const next = await gh.services.signingKeys.rotate();
    await gh.runKeySchedule();
    now += 661_000; // past the JWKS max-age and margin: the announced key starts signing
    await gh.runKeySchedule();
    const newToken = await tokenFor(reader, 'read');
    expect(decodeProtectedHeader(newToken).kid).toBe(next.kid);
    expect((await check(newToken)).status).toBe(200);
    expect((await check(oldToken)).status).toBe(200); // the retired key is still published

    await gh.services.signingKeys.revoke(next.kid);
    await gh.runKeySchedule();
    expect((await check(newToken)).status).toBe(401); // even though this endpoint verified it before
  });

  it('refuses a gateway request that names no audience with 400 (a misconfiguration, not the client)', async () => {
    const res = await check(await tokenFor(reader, 'read'), 'scope=read');
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it("takes audience and scope from headers under /forward-auth/… (Envoy's path_prefix), never from the client's query", async () => {
    const token = await tokenFor(reader, 'read');
    const envoy = (path: string, headers: Record<string, string>) =>
      fetch(`${gh.issuer}/forward-auth${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const res = await envoy('/orders/7?audience=x', { 'x-forward-auth-audience': API, 'x-forward-auth-scope': 'read' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-audience')).toBe(API);
    expect((await envoy('/orders/7', { 'x-forward-auth-audience': API, 'x-forward-auth-scope': 'write' })).status).toBe(403);
    expect((await envoy(`/x?audience=${encodeURIComponent(API)}`, {})).status).toBe(400);
  });

  it('writes no log line per check, but counts checks in the metrics', async () => {
    const token = await tokenFor(reader, 'read');
    await check(token);
    expect(gh.logs().filter((l) => String(l.path ?? '').startsWith('/forward-auth'))).toEqual([]);
    const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_http_requests_total\{route="forward-auth",method="GET",status="200"\} [1-9]/);
    expect(decodeJwt(token).jti).toBeTruthy();
  });
});
