import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.registration.test';
const OTHER_API = 'https://other.registration.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'dcr-user@example.test', password: 'correct horse battery staple' };
const insecure = { execute: [oauth.allowInsecureRequests] };

/** Code flow with PKCE for a registered client; returns its tokens. */
async function signInWith(config: oauth.Configuration, params: Record<string, string>) {
  const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, ...params });
  return flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI), params.resource ? { resource: params.resource } : undefined);
}

const register = (gh: TestGatehouse, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gh.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('dynamic client registration with an initial access token (REGISTRATION=token)', () => {
  const gh = useTestGatehouse({ REGISTRATION: 'token' });

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.resources.createResource({ identifier: OTHER_API, scope: 'admin' });
    await gh.services.accounts.registerAccount(user);
  });

  it('advertises the registration endpoint and refuses a registration without a token', async () => {
    const metadata = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.registration_endpoint).toBe(`${gh.issuer}/reg`);
    expect(metadata.device_authorization_endpoint).toBeUndefined(); // DEVICE_FLOW is off by default
    const res = await register(gh, { redirect_uris: [REDIRECT_URI] });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    const forged = await register(gh, { redirect_uris: [REDIRECT_URI] }, { authorization: 'Bearer not-a-token' });
    expect(forged.status).toBe(401);
  });

  it("registers an ordinary client: secret hashed at rest, listed, audited, held to the token's APIs and scopes", async () => {
    const { token, apiScopes } = await gh.services.registrationTokens.create({ apis: [API], scope: 'read' });
    expect(apiScopes).toEqual(['read']);
    const config = await oauth.dynamicClientRegistration(
      new URL(gh.issuer),
      {
        client_name: 'Registered App',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'openid offline_access read',
        grant_types: ['authorization_code', 'refresh_token'],
      },
      undefined,
      { ...insecure, initialAccessToken: token },
    );
    const registered = config.clientMetadata();
    expect(registered.client_id).toMatch(/^[0-9a-f]{32}$/);
    expect(registered.client_secret).toEqual(expect.any(String));

    const row = await gh.knex('clients').where({ client_id: registered.client_id }).first();
    expect(row.metadata.client_secret).toMatch(/^hmac-sha256:/); // the plaintext is nowhere at rest
    expect(JSON.stringify(row.metadata)).not.toContain(String(registered.client_secret));
    expect(row.metadata).toMatchObject({ self_registered: 'token', allowed_resources: [API], allowed_api_scopes: ['read'] });
    expect((await gh.services.clients.listClients()).map((c) => c.client_id)).toContain(registered.client_id);
    await expect(gh.services.audit.list({ clientId: registered.client_id, type: 'client.created' })).resolves.toEqual([
      expect.objectContaining({ details: expect.objectContaining({ via: 'registration', registration: 'token' }), ip: expect.any(String) }),
    ]);

    const tokens = await signInWith(config, { scope: 'openid offline_access read', resource: API, prompt: 'consent' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { audience: API, issuer: gh.issuer });
    expect(payload).toMatchObject({ scope: 'read', client_id: registered.client_id });
  });

  it('ignores what only an operator may set: first-party, introspection, other APIs', async () => {
    const { token } = await gh.services.registrationTokens.create({ apis: [API] });
    const res = await register(
      gh,
      {
        client_name: 'Pretender',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        scope: 'openid read',
        first_party: true,
        can_introspect: true,
        allowed_resources: [OTHER_API],
        allowed_api_scopes: ['admin'],
        token_rate_limit_per_second: 0,
      },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    const stored = (await gh.knex('clients').where({ client_id: body.client_id }).first()).metadata;
    expect(stored.first_party).toBeUndefined();
    expect(stored.can_introspect).toBeUndefined();
    expect(stored.token_rate_limit_per_second).toBeUndefined();
    expect(stored.allowed_resources).toEqual([API]);
    expect(stored.allowed_api_scopes).toEqual(['read']);
    const config = await oauth.discovery(new URL(gh.issuer), String(body.client_id), undefined, oauth.None(), insecure);
    // Not first-party: the consent page is shown (signIn answers it), and the other API stays out of reach.
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'admin',
      resource: OTHER_API,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const refused = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!);
    expect(refused.searchParams.get('error')).toBe('invalid_target');
  });

  it("refuses scopes beyond the token's, and confidential clients when the token is for public ones only", async () => {
    const { token } = await gh.services.registrationTokens.create({ apis: [API], scope: 'read', isPublicOnly: true });
    const tooMuch = await register(
      gh,
      { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', scope: 'read write' },
      { authorization: `Bearer ${token}` },
    );
    expect(tooMuch.status).toBe(400);
    expect(await tooMuch.json()).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringContaining('write') });
    const confidential = await register(gh, { redirect_uris: [REDIRECT_URI], scope: 'read' }, { authorization: `Bearer ${token}` });
    expect(confidential.status).toBe(400);
    expect(await confidential.json()).toMatchObject({ error: 'invalid_client_metadata' });
    const notHttps = await register(
      gh,
      { redirect_uris: ['http://app.example.test/cb'], token_endpoint_auth_method: 'none' },
      { authorization: `Bearer ${token}` },
    );
    expect(notHttps.status).toBe(400);
  });

  it('manages the registration with its registration access token (RFC 7592), never showing the stored hash', async () => {
    const { token } = await gh.services.registrationTokens.create({ apis: [API] });
    const created = (await (
      await register(
        gh,
        { client_name: 'Managed', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_post', scope: 'read' },
        { authorization: `Bearer ${token}` },
      )
    ).json()) as Record<string, string>;
    const auth = { authorization: `Bearer ${created.registration_access_token}` };

    const read = await fetch(created.registration_client_uri!, { headers: auth });
    expect(read.status).toBe(200);
    const readBody = (await read.json()) as Record<string, unknown>;
    expect(readBody.client_name).toBe('Managed');
    expect(readBody.client_secret).toBeUndefined();

    const {
      registration_access_token: _rat,
      registration_client_uri: _uri,
      client_secret: _s,
      client_secret_expires_at: _e,
      client_id_issued_at: _i,
      ...rest
    } = created;
    const updated = await fetch(created.registration_client_uri!, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...rest, client_name: 'Renamed' }),
    });
    expect(updated.status).toBe(200);
    const updatedBody = (await updated.json()) as Record<string, string>;
    expect(updatedBody.client_secret).toBeUndefined();
    expect((await gh.services.clients.showClient(created.client_id!)).client_name).toBe('Renamed');
    // The old secret still works after the update (the stored hash was kept, not hashed again).
    const config = await oauth.discovery(new URL(gh.issuer), created.client_id!, undefined, oauth.ClientSecretPost(created.client_secret!), insecure);
    await expect(signInWith(config, { scope: 'read', resource: API, prompt: 'consent' })).resolves.toMatchObject({
      token_type: expect.stringMatching(/bearer/i),
    });

    const widen = await fetch(created.registration_client_uri!, {
      method: 'PUT',
      headers: { authorization: `Bearer ${updatedBody.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...rest, client_name: 'Renamed', scope: 'read write' }),
    });
    expect(widen.status).toBe(400);

    const removed = await fetch(created.registration_client_uri!, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${updatedBody.registration_access_token}` },
    });
    expect(removed.status).toBe(204);
    await expect(gh.services.clients.showClient(created.client_id!)).rejects.toMatchObject({ status: 404 });
    await expect(gh.services.audit.list({ clientId: created.client_id!, type: 'client.deleted' })).resolves.toHaveLength(1);
  });

  it("cannot touch an operator's client through the registration endpoints", async () => {
    const { client } = await gh.services.clients.registerClient({ name: 'Operator app', redirectUris: [REDIRECT_URI] });
    const res = await fetch(`${gh.issuer}/reg/${client.client_id}`, { method: 'DELETE', headers: { authorization: 'Bearer guessed' } });
    expect(res.status).toBe(401);
    await expect(gh.services.clients.showClient(client.client_id)).resolves.toMatchObject({ client_name: 'Operator app' });
  });
});

describe('open dynamic client registration (REGISTRATION=open)', () => {
  const gh = useTestGatehouse({ REGISTRATION: 'open', REGISTRATION_OPEN_APIS: API, REGISTRATION_OPEN_PER_HOUR: '3', TRUST_PROXY: '1' });

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.resources.createResource({ identifier: OTHER_API, scope: 'admin' });
    await gh.services.accounts.registerAccount(user);
  });

  it('lets anyone register a public client of the listed APIs, which signs a user in with PKCE', async () => {
    const config = await oauth.dynamicClientRegistration(
      new URL(gh.issuer),
      { client_name: 'Open App', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', scope: 'openid read' },
      oauth.None(),
      insecure,
    );
    const stored = await gh.services.clients.showClient(config.clientMetadata().client_id);
    expect(stored).toMatchObject({ self_registered: 'open', allowed_resources: [API], allowed_api_scopes: ['read'], token_endpoint_auth_method: 'none' });
    const tokens = await signInWith(config, { scope: 'openid read', resource: API, prompt: 'consent' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { audience: API });
    expect(payload.scope).toBe('read');
    // An API that is not listed stays out of reach.
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'admin',
      resource: OTHER_API,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect(new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });

  it('refuses confidential clients and the client credentials grant', async () => {
    const from = { 'x-forwarded-for': '198.51.100.20' };
    const secret = await register(gh, { redirect_uris: [REDIRECT_URI] }, from);
    expect(secret.status).toBe(400);
    expect(await secret.json()).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringContaining('public') });
    const service = await register(gh, { grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'none' }, from);
    expect(service.status).toBe(400);
  });

  it('limits registrations per address', async () => {
    const from = { 'x-forwarded-for': '198.51.100.99' };
    const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
    for (let i = 0; i < 3; i += 1) expect((await register(gh, body, from)).status).toBe(201);
    const limited = await register(gh, body, from);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    expect((await register(gh, body, { 'x-forwarded-for': '198.51.100.100' })).status).toBe(201);
  });
});
