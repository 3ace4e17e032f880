import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import Koa from 'koa';
import * as oauth from 'openid-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AccessTokenClaims, createVerifier, type Verifier } from '../src/verifier/index.ts';
import { createMemoryReplayGuard } from '../src/verifier/replay-cache.ts';
import { type DpopKey, dpopBoundToken, dpopKey, dpopProof } from './support/dpop.ts';
import { testDatabaseUrl } from './support/test-env.ts';
import { startTestGatehouse, type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.dpop.test';
const options = { execute: [oauth.allowInsecureRequests] };
type Creds = { id: string; secret: string };

/** RFC 9449 §7: a DPoP-bound access token is good only with the DPoP scheme and a fresh proof of its key. */
describe('DPoP-bound access tokens (RFC 9449) at resource servers', () => {
  const gh = useTestGatehouse();
  let adminAudience: string;
  let ops: Creds;
  let service: Creds;
  let opsConfig: oauth.Configuration;
  let serviceConfig: oauth.Configuration;
  const open: Verifier[] = [];
  const servers: Server[] = [];

  const configure = (c: Creds) => oauth.discovery(new URL(gh.issuer), c.id, undefined, oauth.ClientSecretBasic(c.secret), options);
  const adminUrl = (path = '/keys') => `${gh.issuer}/admin/v1${path}`;
  const callAdmin = (headers: Record<string, string>, method = 'GET', path = '/keys') => fetch(adminUrl(path), { method, headers });
  const adminToken = async (key: DpopKey) => (await dpopBoundToken(opsConfig, key, { resource: adminAudience, scope: 'admin' })).accessToken;
  const challenge = (res: Response) => res.headers.get('www-authenticate') ?? '';

  beforeAll(async () => {
    adminAudience = `${gh.issuer}/admin`;
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    ops = await register({ name: 'ops', grantTypes: ['client_credentials'], resources: [adminAudience], scope: 'admin' });
    service = await register({ name: 'svc', resources: [API], scope: 'read' });
    [opsConfig, serviceConfig] = await Promise.all([configure(ops), configure(service)]);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('issues a DPoP-bound token to openid-client, and introspection reports the binding (RFC 9449 §6.2)', async () => {
    const key = await dpopKey();
    const { accessToken, tokenType } = await dpopBoundToken(opsConfig, key, { resource: adminAudience, scope: 'admin' });
    expect(tokenType).toBe('dpop');
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    expect(decodeJwt(accessToken).cnf).toEqual({ jkt });
    const introspection = await oauth.tokenIntrospection(opsConfig, accessToken);
    expect(introspection).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt } });
  });

  describe('the admin API', () => {
    it('refuses a DPoP-bound token sent as a bearer token, with a DPoP challenge (RFC 9449 §7.1)', async () => {
      const token = await adminToken(await dpopKey());
      const res = await callAdmin({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(challenge(res)).toMatch(
        /^DPoP realm="[^"]+", error="invalid_token", error_description="a DPoP-bound token cannot be used as a bearer token", algs="[^"]*ES256/,
      );
      expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    });

    it('accepts it under the DPoP scheme with the proof openid-client makes', async () => {
      const key = await dpopKey();
      const { accessToken, handle } = await dpopBoundToken(opsConfig, key, { resource: adminAudience, scope: 'admin' });
      const res = await oauth.fetchProtectedResource(opsConfig, accessToken, new URL(adminUrl()), 'GET', undefined, undefined, { DPoP: handle });
      expect(res.status).toBe(200);
      // A change through the API with a proof of its own.
      const created = await oauth.fetchProtectedResource(opsConfig, accessToken, new URL(adminUrl('/keys/rotate')), 'POST', undefined, undefined, {
        DPoP: handle,
      });
      expect(created.status).toBe(200);
    });

    it.each<[string, string, string, (key: DpopKey, token: string) => Promise<Record<string, string>>]>([
      ['no DPoP header', 'invalid_dpop_proof', 'the request has no DPoP proof', async (_k, t) => ({ authorization: `DPoP ${t}` })],
      [
        'a proof made for another method',
        'invalid_dpop_proof',
        'the DPoP proof was made for another method (htm)',
        async (k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'POST', url: adminUrl(), accessToken: t }) }),
      ],
      [
        'a proof made for another URL',
        'invalid_dpop_proof',
        'the DPoP proof was made for another URL (htu)',
        async (k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'GET', url: adminUrl('/clients'), accessToken: t }) }),
      ],
      [
        'a proof two minutes old',
        'invalid_dpop_proof',
        'the DPoP proof is too old or from the future (iat)',
        async (k, t) => ({
          authorization: `DPoP ${t}`,
          dpop: await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: t }, { iat: Math.floor(Date.now() / 1000) - 120 }),
        }),
      ],
      [
        'a proof from the future',
        'invalid_dpop_proof',
        'the DPoP proof is too old or from the future (iat)',
        async (k, t) => ({
          authorization: `DPoP ${t}`,
          dpop: await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: t }, { iat: Math.floor(Date.now() / 1000) + 60 }),
        }),
      ],
      [
        'a proof without ath',
        'invalid_dpop_proof',
        'the DPoP proof was made for another access token (ath)',
        async (k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'GET', url: adminUrl() }) }),
      ],
      [
        'a proof made for another access token',
        'invalid_dpop_proof',
        'the DPoP proof was made for another access token (ath)',
        async (k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: `${t}x` }) }),
      ],
      [
        'a proof that is not a dpop+jwt',
        'invalid_dpop_proof',
        'the DPoP proof is not a valid dpop+jwt signed with its jwk',
        async (k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: t }, {}, { typ: 'JWT' }) }),
      ],
      [
        'a proof whose jwk header carries the private key',
        'invalid_dpop_proof',
        'the DPoP proof is not a valid dpop+jwt signed with its jwk',
        async (k, t) => {
          const privateJwk = await exportJWK(k.privateKey);
          return { authorization: `DPoP ${t}`, dpop: await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: t }, {}, { jwk: privateJwk }) };
        },
      ],
      [
        'an unsigned proof (alg none)',
        'invalid_dpop_proof',
        'the DPoP proof is not a JWT',
        async (k, t) => {
          const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
          const [, payload] = (await dpopProof(k, { method: 'GET', url: adminUrl(), accessToken: t })).split('.');
          return { authorization: `DPoP ${t}`, dpop: `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: k.publicJwk })}.${payload}.` };
        },
      ],
      [
        'a valid proof made with another key (the token is not bound to it)',
        'invalid_token',
        'the token is bound to another key than the DPoP proof',
        async (_k, t) => ({ authorization: `DPoP ${t}`, dpop: await dpopProof(await dpopKey(), { method: 'GET', url: adminUrl(), accessToken: t }) }),
      ],
    ])('refuses %s with 401 %s: %s', async (_name, error, description, headers) => {
      const key = await dpopKey();
      const token = await adminToken(key);
      const res = await callAdmin(await headers(key, token));
      expect(res.status).toBe(401);
      expect(challenge(res)).toBe(
        `DPoP realm="${adminAudience}", error="${error}", error_description="${description}", algs="ES256 EdDSA Ed25519 PS256 RS256"`,
      );
      // The same token with a good proof passes: only the proof was at fault.
      expect(
        (await callAdmin({ authorization: `DPoP ${token}`, dpop: await dpopProof(key, { method: 'GET', url: adminUrl(), accessToken: token }) })).status,
      ).toBe(200);
    });

    it('refuses a DPoP scheme with a token that is not DPoP-bound', async () => {
      const token = (await oauth.clientCredentialsGrant(opsConfig, { resource: adminAudience, scope: 'admin' })).access_token;
      const res = await callAdmin({
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(await dpopKey(), { method: 'GET', url: adminUrl(), accessToken: token }),
      });
      expect(res.status).toBe(401);
      expect(challenge(res)).toContain('error_description="the DPoP scheme needs a DPoP-bound token"');
    });

    it('refuses a replayed proof at this instance', async () => {
      const key = await dpopKey();
      const token = await adminToken(key);
      const proof = await dpopProof(key, { method: 'GET', url: adminUrl(), accessToken: token });
      expect((await callAdmin({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
      const replayed = await callAdmin({ authorization: `DPoP ${token}`, dpop: proof });
      expect(replayed.status).toBe(401);
      expect(challenge(replayed)).toContain('error="invalid_dpop_proof", error_description="the DPoP proof has been used before"');
    });

    // A second instance of the same deployment (same issuer, same Postgres and Redis): embedded
    // PGlite in memory is one instance's alone, so this needs the real servers.
    it.runIf(testDatabaseUrl)('refuses a proof replayed at another instance sharing the storage', async () => {
      const key = await dpopKey();
      const token = await adminToken(key);
      const proof = await dpopProof(key, { method: 'GET', url: adminUrl(), accessToken: token });
      expect((await callAdmin({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
      const other = await startTestGatehouse(gh.storage, { ISSUER: gh.issuer });
      try {
        // Its own address; the proof's htu names the issuer, as the client called it.
        const at = (headers: Record<string, string>) => fetch(`${other.issuer}/admin/v1/keys`, { headers });
        const elsewhere = await at({ authorization: `DPoP ${token}`, dpop: proof });
        expect(elsewhere.status).toBe(401);
        expect(challenge(elsewhere)).toContain('the DPoP proof has been used before');
        expect((await at({ authorization: `DPoP ${token}`, dpop: await dpopProof(key, { method: 'GET', url: adminUrl(), accessToken: token }) })).status).toBe(
          200,
        );
      } finally {
        await other.stop();
      }
    });
  });

  it('/forward-auth still refuses a DPoP-bound token (a gateway cannot forward its proof)', async () => {
    const key = await dpopKey();
    const { accessToken } = await dpopBoundToken(serviceConfig, key, { scope: 'read' });
    const res = await fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(API)}`, {
      headers: { authorization: `Bearer ${accessToken}`, dpop: await dpopProof(key, { method: 'GET', url: `${gh.issuer}/forward-auth`, accessToken }) },
    });
    expect(res.status).toBe(401);
    expect(challenge(res)).toContain('a DPoP-bound token cannot be used as a bearer token');
  });

  describe('gatehouse/verifier', () => {
    const verifier = async () => {
      const v = createVerifier({ issuer: gh.issuer, audience: API, logger: { warn: () => {} } });
      open.push(v);
      await v.ready();
      return v;
    };
    const listen = async (server: Server) => {
      servers.push(server);
      await once(server.listen(0, '127.0.0.1'), 'listening');
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => expect.fail('the token was accepted'),
        (err: unknown) => err as { status: number; code: string; description: string; wwwAuthenticate: string },
      );

    it('verify() takes a bound token only with the DPoP scheme and a proof for the request, once', async () => {
      const v = await verifier();
      const key = await dpopKey();
      const { accessToken } = await dpopBoundToken(serviceConfig, key, { scope: 'read' });
      const url = 'https://api.dpop.test/reports?page=2';
      expect(await refusal(v.verify(accessToken))).toMatchObject({
        status: 401,
        code: 'invalid_token',
        description: 'a DPoP-bound token cannot be used as a bearer token',
        wwwAuthenticate: expect.stringMatching(/^DPoP realm=/),
      });
      const proof = await dpopProof(key, { method: 'GET', url: 'https://api.dpop.test/reports', accessToken });
      const claims = await v.verify(accessToken, { scheme: 'DPoP', proof, method: 'GET', url });
      expect(claims).toMatchObject({ sub: service.id, scope: ['read'], cnf: { jkt: await calculateJwkThumbprint(key.publicJwk) } });
      expect(await refusal(v.verify(accessToken, { scheme: 'DPoP', proof, method: 'GET', url }))).toMatchObject({
        code: 'invalid_dpop_proof',
        description: 'the DPoP proof has been used before',
      });
      expect(await refusal(v.verify(accessToken, { scheme: 'DPoP', proof: undefined, method: 'GET', url }))).toMatchObject({
        code: 'invalid_dpop_proof',
        description: 'the request has no DPoP proof',
      });
    });

    it('Koa and Express middleware accept openid-client DPoP requests and refuse bearer use and replays', async () => {
      const v = await verifier();
      const koa = new Koa();
      koa.use(v.koa({ scope: 'read' }));
      koa.use((ctx) => {
        ctx.body = { sub: (ctx.state.auth as AccessTokenClaims).sub };
      });
      const app = express();
      app.get('/reports', v.express({ scope: 'read' }), (req, res) => void res.json({ sub: req.auth!.sub }));
      for (const base of [await listen(createServer(koa.callback())), await listen(createServer(app))]) {
        const key = await dpopKey();
        const { accessToken, handle } = await dpopBoundToken(serviceConfig, key, { scope: 'read' });
        const url = new URL(`${base}/reports?x=1`);
        const ok = await oauth.fetchProtectedResource(serviceConfig, accessToken, url, 'GET', undefined, undefined, { DPoP: handle });
        expect(ok.status, base).toBe(200);
        expect(await ok.json()).toEqual({ sub: service.id });

        const asBearer = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
        expect(asBearer.status).toBe(401);
        expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP realm=.*error="invalid_token"/);
        const proof = await dpopProof(key, { method: 'GET', url: `${base}/reports`, accessToken });
        expect((await fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } })).status).toBe(200);
        const replayed = await fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });
        expect(replayed.status).toBe(401);
        expect(replayed.headers.get('www-authenticate')).toContain('error="invalid_dpop_proof"');
        expect(await replayed.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof has been used before' });
      }
    });

    it('checks htu against the configured public origin, not the Host header', async () => {
      const v = createVerifier({ issuer: gh.issuer, audience: API, logger: { warn: () => {} }, dpop: { origin: 'https://api.dpop.test' } });
      open.push(v);
      const app = express();
      app.get('/reports', v.express(), (_req, res) => void res.json({}));
      const base = await listen(createServer(app));
      const key = await dpopKey();
      const { accessToken } = await dpopBoundToken(serviceConfig, key, { scope: 'read' });
      const call = async (htu: string) =>
        (
          await fetch(`${base}/reports`, {
            headers: { authorization: `DPoP ${accessToken}`, dpop: await dpopProof(key, { method: 'GET', url: htu, accessToken }) },
          })
        ).status;
      expect(await call(`${base}/reports`)).toBe(401);
      expect(await call('https://api.dpop.test/reports')).toBe(200);
    });
  });

  it("keeps the verifier's replay memory bounded, the oldest entries going first", () => {
    const guard = createMemoryReplayGuard({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) expect(guard.isFirstUse(id, 60)).toBe(true);
    expect(guard.size).toBe(3);
    expect(guard.isFirstUse('e', 60)).toBe(false); // still remembered
    expect(guard.isFirstUse('a', 60)).toBe(true); // evicted by the newer ones
  });
});
