import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, type Verifier } from '../src/verifier/index.ts';
import { accessTokens } from './support/access-tokens.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.deletion.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'deleted-app-user@example.test', password: 'correct horse battery staple' };
const options = { execute: [oauth.allowInsecureRequests] };
type Creds = { id: string; secret: string };
// Followers of the feed (forward-auth's mirror, the verifier) see an event within a poll or two.
const WITHIN_SECONDS = { timeout: 8000, interval: 100 };

/** Deleting a client revokes everything it holds, everywhere a token is checked. */
describe('deleting a client', () => {
  const gh = useTestGatehouse();
  let adminAudience: string;
  let ops: Creds;
  let apiOwnClient: Creds;
  let adminOwnClient: Creds;
  let verifier: Verifier;

  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const configure = (c: Creds) => oauth.discovery(new URL(gh.issuer), c.id, undefined, oauth.ClientSecretBasic(c.secret), options);
  const admin = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${gh.issuer}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const introspect = async (caller: Creds, token: string) => {
    const res = await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic(caller), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return ((await res.json()) as { active: boolean }).active;
  };
  const forwardAuth = async (token: string, audience: string) =>
    (await fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${token}` } })).status;
  const rowsNaming = async (clientId: string) =>
    (await gh.knex('oidc_payloads').whereRaw("payload->>'clientId' = ?", [clientId]).select('model')).map((r: { model: string }) => r.model).sort();

  beforeAll(async () => {
    adminAudience = `${gh.issuer}/admin`;
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    ops = await register({ name: 'ops', grantTypes: ['client_credentials'], resources: [adminAudience], scope: 'admin' });
    apiOwnClient = await register({ name: 'the API', canIntrospect: true, resources: [API] });
    adminOwnClient = await register({ name: 'an introspector for the admin API', canIntrospect: true, resources: [adminAudience] });
    verifier = createVerifier({
      issuer: gh.issuer,
      audience: [API, adminAudience],
      logger: { warn: () => {} },
      revocation: { clientId: apiOwnClient.id, clientSecret: apiOwnClient.secret, pollIntervalMs: 100 },
    });
    await verifier.ready();
  });
  afterAll(async () => {
    await verifier?.close();
  });

  it("through the admin API: the deleted client's admin token stops working everywhere at once", async () => {
    const opsToken = (await oauth.clientCredentialsGrant(await configure(ops), { resource: adminAudience, scope: 'admin' })).access_token;
    const created = await admin('POST', '/clients', opsToken, {
      name: 'automation to retire',
      grant_types: ['client_credentials'],
      resources: [adminAudience],
      scope: 'admin',
    });
    expect(created.status).toBe(201);
    const victim = (await created.json()) as { client_id: string; client_secret: string };
    const token = (
      await oauth.clientCredentialsGrant(await configure({ id: victim.client_id, secret: victim.client_secret }), { resource: adminAudience, scope: 'admin' })
    ).access_token;
    expect((await admin('POST', '/users', token, { email: 'before@example.test', password: 'a long passphrase here' })).status).toBe(201);
    expect(await forwardAuth(token, adminAudience)).toBe(200);
    expect((await verifier.verify(token)).client_id).toBe(victim.client_id);

    expect((await admin('DELETE', `/clients/${victim.client_id}`, opsToken)).status).toBe(204);

    const refused = await admin('POST', '/users', token, { email: 'after@example.test', password: 'a long passphrase here' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error_description="the token has been revoked"');
    expect(await introspect(adminOwnClient, token)).toBe(false);
    await vi.waitFor(async () => expect(await forwardAuth(token, adminAudience)).toBe(401), WITHIN_SECONDS);
    await vi.waitFor(() => expect(verifier.verify(token)).rejects.toMatchObject({ description: 'the token has been revoked' }), WITHIN_SECONDS);
    // The feed says so, in a documented event type.
    const feed = await (await fetch(`${gh.issuer}/revocations`, { headers: { authorization: basic(apiOwnClient) } })).json();
    expect(feed.events).toContainEqual(expect.objectContaining({ type: 'client', client_id: victim.client_id, exp: expect.any(Number) }));
    // Only that client's: the operator's own token still works.
    expect((await admin('GET', '/keys', opsToken)).status).toBe(200);
  });

  it("from the CLI's service: a web app's access and refresh tokens die, its grants and sessions' entries go", async () => {
    const web = await gh.services.clients.registerClient({
      name: 'web app to retire',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
    });
    const webConfig = await configure({ id: web.client.client_id, secret: web.clientSecret! });
    const ua = createUserAgent();
    const flow = await startCodeFlow(webConfig, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
    const tokens = await flow.redeem(await signIn(ua, flow.url, user, REDIRECT_URI));
    const sessionId = ua.jar.get('_session')!;
    const clientId = web.client.client_id;
    expect(await introspect(apiOwnClient, tokens.access_token)).toBe(true);
    expect(await rowsNaming(clientId)).toEqual(expect.arrayContaining(['Grant', 'RefreshToken']));
    expect(Object.keys((await gh.provider.Session.find(sessionId))!.authorizations ?? {})).toContain(clientId);

    await gh.services.clients.deleteClient(clientId);

    expect(await introspect(apiOwnClient, tokens.access_token)).toBe(false);
    await vi.waitFor(async () => expect(await forwardAuth(tokens.access_token, API)).toBe(401), WITHIN_SECONDS);
    await vi.waitFor(() => expect(verifier.verify(tokens.access_token)).rejects.toMatchObject({ description: 'the token has been revoked' }), WITHIN_SECONDS);
    expect(await rowsNaming(clientId)).toEqual([]);
    const session = await gh.provider.Session.find(sessionId);
    expect(session, 'the session itself survives: the user is still signed in to Gatehouse').toBeTruthy();
    expect(Object.keys(session!.authorizations ?? {})).not.toContain(clientId);
    const [audited] = await gh.services.audit.list({ type: 'client.deleted', clientId });
    expect(audited!.details).toMatchObject({ via: 'cli' });
    expect(audited!.details!.deleted).toBeGreaterThanOrEqual(2); // the grant and the refresh token, at least
  });

  it('leaves feed followers working past an event type they do not know (a newer Gatehouse may add types)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const unknown = { type: 'from-the-future', what: 'x', exp };
    if (gh.redis) await gh.redis.xadd('revocations:feed', '*', 'event', JSON.stringify(unknown));
    else await gh.knex('revocations').insert({ kind: unknown.type, subject: 'x', event: JSON.stringify(unknown), expires_at: new Date(exp * 1000) });
    await gh.services.revocations.record({ type: 'client', client_id: 'recorded-after-the-unknown-event', exp });

    const tokens = accessTokens(gh, { audience: API, clientId: 'recorded-after-the-unknown-event' });
    const revoked = await tokens.signed();
    const unrelated = await tokens.signed({ client_id: 'some-other-client', sub: 'some-other-client' });
    await vi.waitFor(async () => expect(await forwardAuth(revoked, API)).toBe(401), WITHIN_SECONDS);
    await vi.waitFor(() => expect(verifier.verify(revoked)).rejects.toMatchObject({ description: 'the token has been revoked' }), WITHIN_SECONDS);
    expect(await forwardAuth(unrelated, API)).toBe(200);
    expect((await verifier.verify(unrelated)).client_id).toBe('some-other-client');
  });
});
