import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AccessTokenClaims, createVerifier, requireScope, type Verifier, type VerifierOptions } from '../src/verifier/index.ts';
import { accessTokens, countingFetch, tamperSignature } from './support/access-tokens.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.verifier.test';
type Creds = { id: string; secret: string };

describe('gatehouse/verifier against a real Gatehouse', () => {
  const gh = useTestGatehouse();
  let service: Creds;
  let apiClient: Creds;
  let tokens: ReturnType<typeof accessTokens>;
  const open: Verifier[] = [];
  const servers: Server[] = [];

  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const post = (path: string, c: Creds, body: Record<string, string>) =>
    fetch(`${gh.issuer}${path}`, { method: 'POST', headers: { authorization: basic(c) }, body: new URLSearchParams(body) });
  const serviceToken = async (scope = 'read') =>
    ((await (await post('/token', service, { grant_type: 'client_credentials', scope })).json()) as { access_token: string }).access_token;
  /** A verifier of our own, ready, closed after the test. */
  const verifier = async (options: Partial<VerifierOptions> = {}) => {
    const v = createVerifier({ issuer: gh.issuer, audience: API, logger: { warn: () => {} }, ...options });
    open.push(v);
    await v.ready();
    return v;
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('the token was accepted'),
      (err: unknown) => err as { status: number; code: string; description: string; wwwAuthenticate: string },
    );
  const listen = async (server: Server) => {
    servers.push(server);
    await once(server.listen(0, '127.0.0.1'), 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    service = await register({ name: 'svc', resources: [API], scope: 'read' });
    apiClient = await register({ name: 'the API', canIntrospect: true });
    tokens = accessTokens(gh, { audience: API, clientId: service.id });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('accepts a token from the token endpoint and parses its claims', async () => {
    const v = await verifier();
    const claims = await v.verify(await serviceToken());
    expect(claims).toMatchObject({ sub: service.id, client_id: service.id, scope: ['read'], aud: API, iss: gh.issuer });
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims.claims).toMatchObject({ scope: 'read', client_id: service.id });
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['an expired token', () => tokens.signed({ iat: now() - 700, exp: now() - 60 }), 'the token has expired'],
    ['a token not valid yet (nbf)', () => tokens.signed({ nbf: now() + 60 }), 'the token is not valid yet'],
    ['a token issued in the future', () => tokens.signed({ iat: now() + 60 }), 'the token was issued in the future'],
    ['a token for another audience', () => tokens.signed({ aud: 'https://other.test' }), 'unexpected aud claim'],
    ['a token from another issuer', () => tokens.signed({ iss: 'https://evil.test' }), 'unexpected iss claim'],
    ['a JWT that is not an access token (typ)', () => tokens.signed({}, { typ: 'JWT' }), 'the token is not an access token (typ must be at+jwt)'],
    ['a token without client_id', () => tokens.signed({ client_id: undefined }), 'the token has no client_id claim'],
    ['an unsigned token (alg none)', () => tokens.unsigned(), 'the signing algorithm is not allowed'],
    ['HS256 signed with the public key as the secret', () => tokens.hmacWithPublicKey(), 'the signing algorithm is not allowed'],
    ['a token signed under an unknown kid', () => tokens.foreignKid(), 'the token was signed by an unknown key'],
    ['a token with a tampered signature', async () => tamperSignature(await tokens.signed()), 'the signature is invalid'],
    ['a string that is not a JWT', async () => 'not-a-jwt', 'the token is not a JWT'],
  ])('refuses %s with 401 invalid_token and an RFC 6750 challenge', async (_name, make, description) => {
    const v = await verifier();
    expect(await v.verify(await tokens.signed())).toBeTruthy(); // the same recipe, unspoilt, passes
    const err = await refusal(v.verify(await make()));
    expect(err).toMatchObject({ status: 401, code: 'invalid_token', description });
    expect(err.wwwAuthenticate).toBe(`Bearer realm="${gh.issuer}", error="invalid_token", error_description="${description}"`);
  });

  it('answers a request without a token with 401 and a challenge without an error attribute (RFC 6750 §3.1)', async () => {
    const v = await verifier();
    expect(await refusal(v.verify(''))).toMatchObject({ status: 401, wwwAuthenticate: `Bearer realm="${gh.issuer}"` });
  });

  it('answers a missing scope with 403 insufficient_scope naming the scopes needed', async () => {
    const claims = await (await verifier()).verify(await serviceToken());
    expect(() => requireScope(claims, 'read')).not.toThrow();
    expect(() => requireScope(claims, ['read', 'write'])).toThrow(
      expect.objectContaining({
        status: 403,
        code: 'insufficient_scope',
        wwwAuthenticate: expect.stringMatching(/error="insufficient_scope".*, scope="read write"$/),
      }),
    );
  });

  it('refuses to be configured with alg none or HS256', () => {
    for (const alg of ['none', 'HS256']) {
      expect(() => createVerifier({ issuer: gh.issuer, audience: API, algorithms: [alg as 'RS256'] })).toThrow(/not allowed/);
    }
  });

  it('picks up a rotated key without a restart: an unknown kid makes it refetch the JWKS', async () => {
    const counter = countingFetch();
    const v = await verifier({ fetch: counter.fetch });
    const before = await serviceToken();
    await v.verify(before);
    const [activeKid] = (await gh.services.signingKeys.listKeys()).filter((k) => k.status === 'active').map((k) => k.kid);
    await gh.services.signingKeys.revoke(activeKid!);
    await gh.runKeySchedule();
    const after = await serviceToken();
    expect((await v.verify(after)).sub).toBe(service.id);
    expect(counter.count('/jwks')).toBe(2);
    // The revoked key left the JWKS, so its tokens no longer verify.
    expect(await refusal(v.verify(before))).toMatchObject({ description: 'the token was signed by an unknown key' });
  });

  it('caches the JWKS for its Cache-Control max-age (600 s), then refreshes it in the background', async () => {
    const counter = countingFetch();
    const v = await verifier({ fetch: counter.fetch });
    const token = await tokens.signed({ exp: now() + 3600 });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      vi.advanceTimersByTime(590_000);
      await v.verify(token);
      expect(counter.count('/jwks')).toBe(1);
      vi.advanceTimersByTime(20_000);
      await v.verify(token); // answered from the cache at once; the refetch runs behind it
      await vi.waitFor(() => expect(counter.count('/jwks')).toBe(2), { timeout: 3000, interval: 20 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('refetches the JWKS at most once per cooldown however many forged kids arrive', async () => {
    const counter = countingFetch();
    const v = await verifier({ fetch: counter.fetch });
    expect(counter.count('/jwks')).toBe(1);
    for (let burst = 0; burst < 3; burst += 1) {
      const forged = await Promise.all(Array.from({ length: 20 }, () => tokens.foreignKid()));
      const errors = await Promise.all(forged.map((t) => refusal(v.verify(t))));
      expect(errors.every((e) => e.status === 401)).toBe(true);
    }
    expect(counter.count('/jwks')).toBe(2);
    expect(await v.verify(await serviceToken())).toBeTruthy(); // real tokens still pass, from the cache
  });

  it('refuses a token revoked at Gatehouse (RFC 7009) within seconds while an unrelated token still passes', async () => {
    const v = await verifier({ revocation: { clientId: apiClient.id, clientSecret: apiClient.secret, pollIntervalMs: 100 } });
    const [revoked, unrelated] = [await serviceToken(), await serviceToken()];
    await v.verify(revoked);
    expect((await post('/token/revocation', service, { token: revoked })).status).toBe(200);
    await vi.waitFor(async () => expect(await refusal(v.verify(revoked))).toMatchObject({ status: 401, description: 'the token has been revoked' }), {
      timeout: 8000,
      interval: 50,
    });
    expect((await v.verify(unrelated)).sub).toBe(service.id);
  });

  it("refuses a user's tokens issued before they signed out everywhere, and only theirs", async () => {
    const user = await gh.services.accounts.registerAccount({ email: 'verifier@example.test', password: 'correct horse battery staple' });
    const v = await verifier({ revocation: { clientId: apiClient.id, clientSecret: apiClient.secret, pollIntervalMs: 100 } });
    const theirs = await tokens.signed({ sub: user.id, iat: now() - 1 });
    const someoneElses = await tokens.signed({ sub: 'someone-else', iat: now() - 1 });
    await v.verify(theirs);
    await gh.services.signOutEverywhere('verifier@example.test');
    await vi.waitFor(async () => expect(await refusal(v.verify(theirs))).toMatchObject({ description: 'the token has been revoked' }), {
      timeout: 8000,
      interval: 50,
    });
    expect((await v.verify(someoneElses)).sub).toBe('someone-else');
  });

  it('sets ctx.state.auth in Koa and answers 401/403 with WWW-Authenticate', async () => {
    const v = await verifier();
    const app = new Koa();
    const [read, write] = [v.koa({ scope: 'read' }), v.koa({ scope: 'write' })];
    app.use((ctx, next) => (ctx.path === '/write' ? write : read)(ctx, next));
    app.use((ctx) => {
      ctx.body = { sub: (ctx.state.auth as AccessTokenClaims).sub };
    });
    await expectMiddleware(await listen(createServer(app.callback())));
  });

  it('sets req.auth in Express and answers 401/403 with WWW-Authenticate', async () => {
    const v = await verifier();
    const app = express();
    app.get('/', v.express({ scope: 'read' }), (req, res) => void res.json({ sub: req.auth!.sub }));
    app.get('/write', v.express({ scope: 'write' }), (_req, res) => void res.json({}));
    await expectMiddleware(await listen(createServer(app)));
  });

  async function expectMiddleware(base: string) {
    const get = (path: string, token?: string) => fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const ok = await get('/', await serviceToken());
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ sub: service.id });
    const none = await get('/');
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, `Bearer realm="${gh.issuer}"`]);
    const bad = await get('/', tamperSignature(await serviceToken()));
    expect([bad.status, bad.headers.get('www-authenticate')]).toEqual([
      401,
      `Bearer realm="${gh.issuer}", error="invalid_token", error_description="the signature is invalid"`,
    ]);
    expect(await bad.json()).toEqual({ error: 'invalid_token', error_description: 'the signature is invalid' });
    const scoped = await get('/write', await serviceToken());
    expect(scoped.status).toBe(403);
    expect(scoped.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="insufficient_scope", error_description="[^"]+", scope="write"$/);
  }

  it('runs the example API from examples/, importing gatehouse/verifier as a consumer would', async () => {
    const env = { ...process.env, ISSUER: gh.issuer, AUDIENCE: API, CLIENT_ID: apiClient.id, CLIENT_SECRET: apiClient.secret, PORT: '0' };
    const child = spawn(process.execPath, ['examples/verifier-api.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const first = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => undefined)]);
      if (!first) expect.fail('the example exited before listening');
      const [line] = first as [Buffer];
      const { port } = JSON.parse(String(line).replace('listening on ', '')) as AddressInfo;
      const reports = (token?: string) => fetch(`http://127.0.0.1:${port}/reports`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const ok = await reports(await serviceToken());
      expect([ok.status, await ok.json()]).toEqual([200, { for: service.id, client: service.id }]);
      expect((await reports()).status).toBe(401);
    } finally {
      child.kill();
    }
  });

  // Last: it stops the Gatehouse.
  it('keeps verifying with cached keys while Gatehouse is down, and warns once', async () => {
    const warnings: string[] = [];
    const counter = countingFetch();
    const logger = { warn: (_obj: object, msg?: string) => void warnings.push(msg ?? '') };
    const v = await verifier({ logger, fetch: counter.fetch, revocation: { clientId: apiClient.id, clientSecret: apiClient.secret, pollIntervalMs: 20 } });
    const token = await serviceToken();
    await gh.stop();
    const polled = counter.count('/revocations');
    await vi.waitFor(() => expect(counter.count('/revocations')).toBeGreaterThan(polled + 5), { timeout: 5000, interval: 20 });
    expect((await v.verify(token)).sub).toBe(service.id);
    expect(warnings).toEqual(['revocation feed unreachable, retrying: verifying with what was last fetched, if anything']);
  });
});
