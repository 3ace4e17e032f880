import { decodeJwt } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const API = 'https://api.revocation.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'rev@example.test', password: 'correct horse battery staple' };
type Creds = { id: string; secret: string };
// The feed may hold an event back briefly (Postgres without Redis: a commit-ordering guard).
const WITHIN_SECONDS = { timeout: 5000, interval: 100 };

describe('revocation that reaches resource servers', () => {
  const gh = useTestGatehouse();
  let service: Creds;
  let other: Creds;
  let apiClient: Creds;
  let web: oauth.Configuration;

  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const post = (path: string, c: Creds, body: Record<string, string>) =>
    fetch(`${gh.issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const introspect = async (token: string) => (await (await post('/token/introspection', apiClient, { token })).json()) as { active: boolean };
  const serviceToken = async (c = service) =>
    ((await (await post('/token', c, { grant_type: 'client_credentials', scope: 'read' })).json()) as { access_token: string }).access_token;
  const feed = async (cursor?: string) => {
    const res = await fetch(`${gh.issuer}/revocations${cursor ? `?cursor=${cursor}` : ''}`, { headers: { authorization: basic(apiClient) } });
    expect(res.status).toBe(200);
    return (await res.json()) as { cursor: string; events: { type: string; jti?: string; gid?: string; sub?: string; cursor: string }[] };
  };
  const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
    const { client, clientSecret } = await gh.services.clients.registerClient(input);
    return { id: client.client_id, secret: clientSecret! };
  };
  const userTokens = async (ua: UserAgent = createUserAgent()) => {
    const flow = await startCodeFlow(web, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
    return flow.redeem(await signIn(ua, flow.url, user, REDIRECT_URI));
  };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    service = await register({ name: 'svc', resources: [API], scope: 'read' });
    other = await register({ name: 'other', resources: [API], scope: 'read' });
    apiClient = await register({ name: 'the API', canIntrospect: true, resources: [API] });
    const webClient = await register({
      name: 'web',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
      refreshTokenGraceSeconds: 0,
    });
    web = await oauth.discovery(new URL(gh.issuer), webClient.id, undefined, oauth.ClientSecretBasic(webClient.secret), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  it('revokes a JWT access token by jti (RFC 7009): introspection says inactive and the feed lists it', async () => {
    const token = await serviceToken();
    expect((await introspect(token)).active).toBe(true);
    expect((await post('/token/revocation', service, { token })).status).toBe(200);
    expect((await introspect(token)).active).toBe(false);
    const { jti } = decodeJwt(token);
    await vi.waitFor(async () => expect((await feed()).events).toContainEqual(expect.objectContaining({ type: 'token', jti })), WITHIN_SECONDS);
  });

  it("ignores another client's attempt to revoke a token, answering 200 as RFC 7009 allows", async () => {
    const token = await serviceToken();
    expect((await post('/token/revocation', other, { token })).status).toBe(200);
    expect((await introspect(token)).active).toBe(true);
  });

  it('revokes the access tokens of a grant revoked by refresh-token reuse', async () => {
    const first = await userTokens();
    const { gid } = decodeJwt(first.access_token);
    expect(gid).toBeTruthy();
    await oauth.refreshTokenGrant(web, first.refresh_token!);
    await expect(oauth.refreshTokenGrant(web, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await vi.waitFor(async () => expect((await introspect(first.access_token)).active).toBe(false), { timeout: 3000, interval: 50 });
    await vi.waitFor(async () => expect((await feed()).events).toContainEqual(expect.objectContaining({ type: 'grant', gid })), WITHIN_SECONDS);
  });

  it('revokes the access tokens of a grant whose refresh token the client revoked', async () => {
    const tokens = await userTokens();
    await oauth.tokenRevocation(web, tokens.refresh_token!);
    await vi.waitFor(async () => expect((await introspect(tokens.access_token)).active).toBe(false), { timeout: 3000, interval: 50 });
  });

  it('signs a user out everywhere: sessions end, refresh tokens die, live access tokens turn inactive', async () => {
    const ua = createUserAgent();
    const before = await userTokens(ua);
    const { cursor } = await feed();
    const result = await gh.services.signOutEverywhere(user.email);
    expect(result.deleted).toBeGreaterThan(0);
    expect(await gh.services.audit.list({ type: 'user.signed_out_everywhere' })).toEqual([expect.objectContaining({ accountId: result.accountId })]);

    expect((await introspect(before.access_token)).active).toBe(false);
    await expect(oauth.refreshTokenGrant(web, before.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await vi.waitFor(async () => {
      const newer = await feed(cursor);
      expect(newer.events).toContainEqual(expect.objectContaining({ type: 'subject', sub: decodeJwt(before.access_token).sub }));
    }, WITHIN_SECONDS);

    // The browser's session is gone: the next authorization asks for the password again.
    const url = oauth.buildAuthorizationUrl(web, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    let res = await ua.get(url.href);
    while (res.status === 303 || res.status === 302) res = await ua.get(new URL(res.headers.get('location')!, gh.issuer).href);
    expect(await res.text()).toContain('name="password"');
  });

  it('keeps tokens issued after the sign-out valid', async () => {
    const later = Math.floor(Date.now() / 1000) + 1;
    await vi.waitFor(() => expect(Math.floor(Date.now() / 1000)).toBeGreaterThanOrEqual(later), { timeout: 3000, interval: 50 });
    const fresh = await userTokens();
    expect((await introspect(fresh.access_token)).active).toBe(true);
  });

  it('serves the feed only to clients registered to introspect', async () => {
    expect((await fetch(`${gh.issuer}/revocations`)).status).toBe(401);
    expect((await fetch(`${gh.issuer}/revocations`, { headers: { authorization: basic(service) } })).status).toBe(401);
    expect((await fetch(`${gh.issuer}/revocations`, { headers: { authorization: basic({ ...apiClient, secret: 'wrong' }) } })).status).toBe(401);
    expect((await fetch(`${gh.issuer}/revocations?cursor=';drop`, { headers: { authorization: basic(apiClient) } })).status).toBe(400);
  });

  it('pages through the feed with a cursor', async () => {
    const all = await feed();
    expect(all.events.length).toBeGreaterThanOrEqual(3);
    const rest = await feed(all.events[0]!.cursor);
    expect(rest.events).toEqual(all.events.slice(1));
    expect((await feed(all.cursor)).events).toEqual([]);
  });
});
