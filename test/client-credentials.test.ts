import { createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, importJWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors/app-error.ts';
import { oauthError } from './support/oauth-error.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.example.test';
const OTHER_API = 'https://billing.example.test';
const options = { execute: [oauth.allowInsecureRequests] };

type Registered = { clientId: string; clientSecret: string };

describe('client credentials grant', () => {
  const gh = useTestGatehouse();
  let service: Registered;
  let bystander: Registered;
  let apiClient: Registered;
  let config: oauth.Configuration;

  const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]): Promise<Registered> => {
    const { client, clientSecret } = await gh.services.clients.registerClient(input);
    return { clientId: client.client_id, clientSecret: clientSecret! };
  };
  const configure = (c: Registered, auth = oauth.ClientSecretBasic(c.clientSecret)) =>
    oauth.discovery(new URL(gh.issuer), c.clientId, undefined, auth, options);

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write', accessTokenTtlSeconds: 120 });
    await gh.services.resources.createResource({ identifier: OTHER_API, scope: 'charge' });
    service = await register({ name: 'Reporting job', grantTypes: ['client_credentials'], scope: 'read', resources: [API] });
    bystander = await register({ name: 'Unrelated service', grantTypes: ['client_credentials'], scope: 'charge', resources: [OTHER_API] });
    // An API's own client introspects the tokens of the API it is registered for (RFC 7662 §4).
    apiClient = await register({ name: 'The API itself', grantTypes: ['client_credentials'], canIntrospect: true, resources: [API] });
    config = await configure(service);
  });

  /** RFC 7662 §2.1 with client_secret_basic (RFC 6749 §2.3.1: form-encoded id and secret). */
  const introspect = async (token: string, caller: Registered) => {
    const basic = Buffer.from(`${encodeURIComponent(caller.clientId)}:${encodeURIComponent(caller.clientSecret)}`).toString('base64');
    const res = await fetch(config.serverMetadata().introspection_endpoint!, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as JWTPayload & { active: boolean };
  };

  it('issues an RS256 at+jwt for the one registered API without a resource parameter', async () => {
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();

    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ iss: gh.issuer, aud: API, sub: service.clientId, client_id: service.clientId, scope: 'read' });
    expect(payload.jti).toBeTruthy();
    // The API's own TTL, not the server default.
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(tokens.expires_in).toBe(120);
  });

  it('refuses an API scope the client was not registered for with invalid_scope', async () => {
    await expect(oauth.clientCredentialsGrant(config, { scope: 'write' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses an existing API the client may not use with invalid_target', async () => {
    await expect(oauth.clientCredentialsGrant(config, { scope: 'charge', resource: OTHER_API })).rejects.toMatchObject({ error: 'invalid_target' });
  });

  it('refuses an unknown resource with invalid_target', async () => {
    await expect(oauth.clientCredentialsGrant(config, { scope: 'read', resource: 'https://nowhere.example.test' })).rejects.toMatchObject({
      error: 'invalid_target',
    });
  });

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const wrong = await configure({ ...service, clientSecret: 'not-the-secret' });
    expect(await oauthError(oauth.clientCredentialsGrant(wrong, { scope: 'read' }))).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('accepts client_secret_post for a client registered with it', async () => {
    const poster = await register({ name: 'Poster', scope: 'read', resources: [API], tokenEndpointAuthMethod: 'client_secret_post' });
    const cfg = await configure(poster, oauth.ClientSecretPost(poster.clientSecret));
    const tokens = await oauth.clientCredentialsGrant(cfg, { scope: 'read' });
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
  });

  it('refuses to register a public client for client_credentials', async () => {
    const before = (await gh.services.clients.listClients()).length;
    await expect(
      gh.services.clients.registerClient({ name: 'Public job', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'none' }),
    ).rejects.toBeInstanceOf(AppError);
    expect(await gh.services.clients.listClients()).toHaveLength(before);
  });

  describe('introspection (RFC 7662) of JWT access tokens', () => {
    let token: string;
    beforeAll(async () => {
      token = (await oauth.clientCredentialsGrant(config, { scope: 'read' })).access_token;
    });

    it('tells the issuing client the token is active, with its claims', async () => {
      const body = await introspect(token, service);
      expect(body).toMatchObject({ active: true, client_id: service.clientId, scope: 'read', sub: service.clientId, aud: API, iss: gh.issuer });
      expect(body.exp! - body.iat!).toBe(120);
    });

    it('answers active:false to another client that may not introspect', async () => {
      expect(await introspect(token, bystander)).toEqual({ active: false });
    });

    it("tells a client registered to introspect (an API's own client) the token is active", async () => {
      expect(await introspect(token, apiClient)).toMatchObject({ active: true, client_id: service.clientId, aud: API });
    });

    it('answers active:false for a token with a tampered signature', async () => {
      const [h, p, s] = token.split('.') as [string, string, string];
      const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      expect(await introspect(`${h}.${p}.${flipped}`, service)).toEqual({ active: false });
    });

    it('answers active:false for a token signed by a foreign key under our kid', async () => {
      const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)));
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: protectedHeader.kid! }).sign(privateKey);
      expect(await introspect(forged, service)).toEqual({ active: false });
    });

    it('answers active:false for an expired token and for a JWT that is not an access token, even signed with our key', async () => {
      const [active] = await gh.services.signingKeys.loadProviderKeys();
      const key = await importJWK(active!, 'RS256');
      const now = Math.floor(Date.now() / 1000);
      const claims = { client_id: service.clientId, scope: 'read', sub: service.clientId, aud: API, jti: 'x' };
      const sign = (typ: string, iat: number) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', typ, kid: active!.kid! })
          .setIssuer(gh.issuer)
          .setIssuedAt(iat)
          .setExpirationTime(iat + 120)
          .sign(key);
      // Sanity: the same recipe, fresh, is accepted, so the refusals below are about expiry and typ.
      expect(await introspect(await sign('at+jwt', now), service)).toMatchObject({ active: true });
      expect(await introspect(await sign('at+jwt', now - 3600), service)).toEqual({ active: false });
      expect(await introspect(await sign('JWT', now), service)).toEqual({ active: false });
    });
  });

  it('answers 200 at the revocation endpoint (RFC 7009) for an unknown token from an authenticated client', async () => {
    await expect(oauth.tokenRevocation(config, 'no-such-token-0123456789')).resolves.toBeUndefined();
    const res = await fetch(config.serverMetadata().revocation_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'no-such-token', client_id: service.clientId, client_secret: 'wrong' }).toString(),
    });
    expect(res.status).toBe(401);
  });

  it('serves the same metadata at both discovery documents, advertising only what we support', async () => {
    const [oidc, oauthMeta] = await Promise.all(
      ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map(async (path) => {
        const res = await fetch(`${gh.issuer}${path}`);
        expect(res.status, path).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      }),
    );
    expect(oauthMeta).toEqual(oidc);
    const meta = oidc as Record<string, (string & string[]) | undefined>;
    expect(meta.issuer).toBe(gh.issuer);
    for (const endpoint of ['authorization', 'token', 'introspection', 'revocation', 'end_session', 'userinfo']) {
      expect(meta[`${endpoint}_endpoint`], endpoint).toMatch(new RegExp(`^${gh.issuer}/`));
    }
    expect(meta.jwks_uri).toBe(`${gh.issuer}/jwks`);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', 'authorization_code', 'refresh_token']));
    const authAlgs = meta.token_endpoint_auth_signing_alg_values_supported ?? [];
    expect(authAlgs.length).toBeGreaterThan(0);
    expect(authAlgs.filter((alg) => alg.startsWith('HS'))).toEqual([]);
  });
});
