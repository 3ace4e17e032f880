import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const ORDERS = 'https://orders.introspection.test';
const BILLING = 'https://billing.introspection.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'intro@example.test', password: 'correct horse battery staple' };
const options = { execute: [oauth.allowInsecureRequests] };
type Creds = { id: string; secret: string };

/**
 * RFC 7662 §4: an API's own client (--introspect) learns only about access tokens for the APIs
 * it is registered for; everything else is {"active":false}. The token's own client still
 * learns about its own tokens.
 */
describe('who may learn what at the introspection endpoint', () => {
  const gh = useTestGatehouse();
  const creds: Record<'ordersService' | 'billingService' | 'ordersApi' | 'unscopedApi' | 'ops' | 'web', Creds> = {} as never;
  const tokens: Record<'orders' | 'billing' | 'admin' | 'webAccess' | 'webRefresh', string> = {} as never;

  const introspect = async (caller: Creds, token: string) => {
    const res = await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${caller.id}:${caller.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { active: boolean; client_id?: string };
  };
  const configure = (c: Creds) => oauth.discovery(new URL(gh.issuer), c.id, undefined, oauth.ClientSecretBasic(c.secret), options);

  beforeAll(async () => {
    const admin = `${gh.issuer}/admin`;
    await gh.services.resources.createResource({ identifier: ORDERS, scope: 'read' });
    await gh.services.resources.createResource({ identifier: BILLING, scope: 'charge' });
    await gh.services.accounts.registerAccount(user);
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    creds.ordersService = await register({ name: 'orders job', resources: [ORDERS], scope: 'read' });
    creds.billingService = await register({ name: 'billing job', resources: [BILLING], scope: 'charge' });
    creds.ordersApi = await register({ name: 'the orders API', canIntrospect: true, resources: [ORDERS] });
    creds.unscopedApi = await register({ name: 'an API registered for nothing', canIntrospect: true });
    creds.ops = await register({ name: 'ops', grantTypes: ['client_credentials'], resources: [admin], scope: 'admin' });
    creds.web = await register({ name: 'web', redirectUris: [REDIRECT_URI], scope: 'openid offline_access read', resources: [ORDERS] });

    tokens.orders = (await oauth.clientCredentialsGrant(await configure(creds.ordersService), { scope: 'read' })).access_token;
    tokens.billing = (await oauth.clientCredentialsGrant(await configure(creds.billingService), { scope: 'charge' })).access_token;
    tokens.admin = (await oauth.clientCredentialsGrant(await configure(creds.ops), { resource: admin, scope: 'admin' })).access_token;
    const web = await configure(creds.web);
    const flow = await startCodeFlow(web, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
    const userTokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
    tokens.webAccess = userTokens.access_token;
    tokens.webRefresh = userTokens.refresh_token!;
  });

  it("tells an API's own client about access tokens for its API, users' and services' alike", async () => {
    expect(await introspect(creds.ordersApi, tokens.orders)).toMatchObject({ active: true, client_id: creds.ordersService.id });
    expect(await introspect(creds.ordersApi, tokens.webAccess)).toMatchObject({ active: true, client_id: creds.web.id });
  });

  it.each<[string, keyof typeof tokens]>([
    ["another API's token", 'billing'],
    ['an admin API token', 'admin'],
    ["another client's refresh token", 'webRefresh'],
  ])('answers {"active":false} to an API\'s own client for %s', async (_name, which) => {
    expect(await introspect(creds.ordersApi, tokens[which])).toEqual({ active: false });
  });

  it("tells an --introspect client registered for no API about no other client's token", async () => {
    for (const which of ['orders', 'billing', 'admin', 'webAccess', 'webRefresh'] as const) {
      expect(await introspect(creds.unscopedApi, tokens[which]), which).toEqual({ active: false });
    }
  });

  it('still tells each client about its own tokens, refresh tokens included', async () => {
    expect(await introspect(creds.billingService, tokens.billing)).toMatchObject({ active: true });
    expect(await introspect(creds.ops, tokens.admin)).toMatchObject({ active: true });
    expect(await introspect(creds.web, tokens.webRefresh)).toMatchObject({ active: true, client_id: creds.web.id });
    expect(await introspect(creds.web, tokens.webAccess)).toMatchObject({ active: true });
    // …and nobody else's.
    expect(await introspect(creds.billingService, tokens.orders)).toEqual({ active: false });
    expect(await introspect(creds.ordersService, tokens.webRefresh)).toEqual({ active: false });
  });
});
