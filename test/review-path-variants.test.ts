import { beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.ts';
import { refresh, startChains } from './support/refresh-chains.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

/**
 * oidc-provider's router matches a path case-insensitively and with or without one trailing slash
 * (lib/helpers/router.js: fold() and match()), so `/AUTH`, `/auth/` and `/Token` reach its
 * endpoints. Our guards in front of them (the /auth and PAR rate limit, the token endpoint's
 * per-client rate, the refresh grace window) must not be skipped by such a spelling.
 */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.path-variants.test';
const html = { accept: 'text/html' };
const FORM = 'application/x-www-form-urlencoded';
const user = { email: 'path-variants@example.test', password: 'a long and correct passphrase' };

describe('paths the engine also routes: /AUTH, /auth/, /TOKEN …', () => {
  const gh = useTestGatehouse({ AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1', TOKEN_RATE_LIMIT_PER_SECOND: '1' });
  let clientId: string;
  let publicClientId: string;
  let service: { id: string; secret: string };

  const authorize = (path: string, address: string, id = clientId) =>
    rawRequest(gh.issuer, {
      path: `${path}?${new URLSearchParams({ response_type: 'code', client_id: id, redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      headers: { ...html, 'x-forwarded-for': address },
    });

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    clientId = (await gh.services.clients.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scope: 'openid' })).client.client_id;
    publicClientId = (await gh.services.clients.registerClient({ name: 'SPA', redirectUris: [REDIRECT_URI], scope: 'openid', tokenEndpointAuthMethod: 'none' }))
      .client.client_id;
    const registered = await gh.services.clients.registerClient({ name: 'Job', grantTypes: ['client_credentials'], scope: 'read', resources: [API] });
    service = { id: registered.client.client_id, secret: registered.clientSecret! };
    await gh.services.accounts.registerAccount(user);
  });

  /**
   * The /auth budget is counted in fixed one-minute windows: a scenario that straddles a window's
   * end would start a fresh count. So it runs again, from a fresh address, until it ran inside one.
   */
  let addresses = 0;
  const inOneWindow = async (scenario: (address: string) => Promise<number[]>): Promise<number[]> => {
    for (;;) {
      const window = Math.floor(Date.now() / 60_000);
      addresses += 1;
      const statuses = await scenario(`203.0.113.${addresses}`);
      if (Math.floor(Date.now() / 60_000) === window) return statuses;
    }
  };

  it.each(['/AUTH', '/auth/', '/Auth'])("counts GET %s against the address's /auth budget", async (variant) => {
    const statuses = await inOneWindow(async (address) => {
      const seen: number[] = [];
      for (let i = 0; i < 4; i += 1) seen.push((await authorize('/auth', address)).status);
      // The engine serves the variant as its authorization endpoint: it must be refused alike.
      seen.push((await authorize(variant, address)).status);
      return seen;
    });
    expect(statuses).toEqual([303, 303, 303, 429, 429]);
  });

  it.each(['/REQUEST', '/request/'])("counts a public client's POST %s against the address's budget", async (variant) => {
    const body = new URLSearchParams({
      response_type: 'code',
      client_id: publicClientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const statuses = await inOneWindow(async (address) => {
      const seen: number[] = [];
      for (let i = 0; i < 3; i += 1) seen.push((await authorize('/auth', address)).status);
      const pushed = await rawRequest(gh.issuer, {
        method: 'POST',
        path: variant,
        headers: { 'x-forwarded-for': address, 'content-type': FORM },
        body: body.toString(),
      });
      seen.push(pushed.status);
      return seen;
    });
    expect(statuses).toEqual([303, 303, 303, 429]);
  });

  // One after another, as token-rate-limit.test.ts does: the bucket is drained once a request has
  // authenticated, so requests in flight together are not all counted before each is checked.
  it.each(['/TOKEN', '/token/'])("holds a client's token rate at POST %s", async (variant) => {
    const basic = `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`;
    const statuses: number[] = [];
    // 1 per second, a burst of 2: twenty in a row cannot all pass.
    for (let i = 0; i < 20; i += 1) {
      const a = await rawRequest(gh.issuer, {
        method: 'POST',
        path: variant,
        headers: { authorization: basic, 'content-type': FORM },
        body: 'grant_type=client_credentials&scope=read',
      });
      statuses.push(a.status);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThan(20);
  });

  it('keeps the refresh grace window for a rotation at POST /token/: a retry gets the answer, the chain lives', async () => {
    const app = await gh.services.clients.registerClient({
      name: 'Mobile',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access',
      refreshTokenGraceSeconds: 60,
      tokenRateLimitPerSecond: 0,
    });
    const client = { tokenEndpoint: `${gh.issuer}/token/`, clientId: app.client.client_id, clientSecret: app.clientSecret! };
    const [rt0] = await startChains(gh.issuer, { ...client, tokenEndpoint: `${gh.issuer}/token` }, user, {
      count: 1,
      redirectUri: REDIRECT_URI,
      scope: 'openid offline_access',
    });
    const rotated = await refresh(client, rt0!);
    expect(rotated.status).toBe(200);
    // The response was lost; the client retries inside the window.
    const retry = await refresh(client, rt0!);
    expect(retry).toMatchObject({ status: 200, body: { refresh_token: rotated.body.refresh_token } });
    expect((await refresh(client, rotated.body.refresh_token as string)).status).toBe(200);
  });
});
