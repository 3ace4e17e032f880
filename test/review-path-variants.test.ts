import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.ts';
import { refresh, startChains } from './support/refresh-chains.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

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
  const storage = newStorage();
  let gh: TestGatehouse;
  let clientId: string;
  let publicClientId: string;
  let service: { id: string; secret: string };

  const authorize = (path: string, address: string, id = clientId) =>
    rawRequest(gh.issuer, {
      path: `${path}?${new URLSearchParams({ response_type: 'code', client_id: id, redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      headers: { ...html, 'x-forwarded-for': address },
    });

  beforeAll(async () => {
    gh = await startTestGatehouse(storage, { AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1', TOKEN_RATE_LIMIT_PER_SECOND: '1' });
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    clientId = (await gh.services.clients.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scope: 'openid' })).client.client_id;
    publicClientId = (await gh.services.clients.registerClient({ name: 'SPA', redirectUris: [REDIRECT_URI], scope: 'openid', tokenEndpointAuthMethod: 'none' })).client.client_id;
    const registered = await gh.services.clients.registerClient({ name: 'Job', grantTypes: ['client_credentials'], scope: 'read', resources: [API] });
    service = { id: registered.client.client_id, secret: registered.clientSecret! };
    await gh.services.accounts.registerAccount(user);
  });
  afterAll(async () => {
    await gh?.stop();
    await dropStorage(storage);
  });

  it.each([['/AUTH', 1], ['/auth/', 2], ['/Auth', 3]])('counts GET %s against the address\'s /auth budget', async (variant, n) => {
    const address = `203.0.113.${n}`;
    for (let i = 0; i < 3; i += 1) expect((await authorize('/auth', address)).status).toBe(303);
    expect((await authorize('/auth', address)).status).toBe(429);
    // The engine serves the variant as its authorization endpoint: it must be refused alike.
    expect((await authorize(variant, address)).status).toBe(429);
  });

  it.each([['/REQUEST', 1], ['/request/', 2]])("counts a public client's POST %s against the address's budget", async (variant, n) => {
    const address = `198.51.100.${n}`;
    for (let i = 0; i < 3; i += 1) expect((await authorize('/auth', address)).status).toBe(303);
    const body = new URLSearchParams({ response_type: 'code', client_id: publicClientId, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const pushed = await rawRequest(gh.issuer, { method: 'POST', path: variant, headers: { 'x-forwarded-for': address, 'content-type': FORM }, body: body.toString() });
    expect(pushed.status).toBe(429);
  });

  it.each(['/TOKEN', '/token/'])("holds a client's token rate at POST %s", async (variant) => {
    const basic = `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`;
    const statuses: number[] = [];
    // 1 per second, a burst of 2: ten at once cannot all pass.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        rawRequest(gh.issuer, { method: 'POST', path: variant, headers: { authorization: basic, 'content-type': FORM }, body: 'grant_type=client_credentials&scope=read' }),
      ),
    );
    for (const a of answers) statuses.push(a.status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
    expect(statuses).toContain(429);
  });

  it('keeps the refresh grace window for a rotation at POST /token/: a retry gets the answer, the chain lives', async () => {
    const app = await gh.services.clients.registerClient({ name: 'Mobile', redirectUris: [REDIRECT_URI], scope: 'openid offline_access', refreshTokenGraceSeconds: 60, tokenRateLimitPerSecond: 0 });
    const client = { tokenEndpoint: `${gh.issuer}/token/`, clientId: app.client.client_id, clientSecret: app.clientSecret! };
    const [rt0] = await startChains(gh.issuer, { ...client, tokenEndpoint: `${gh.issuer}/token` }, user, { count: 1, redirectUri: REDIRECT_URI, scope: 'openid offline_access' });
    const rotated = await refresh(client, rt0!);
    expect(rotated.status).toBe(200);
    // The response was lost; the client retries inside the window.
    const retry = await refresh(client, rt0!);
    expect(retry).toMatchObject({ status: 200, body: { refresh_token: rotated.body.refresh_token } });
    expect((await refresh(client, rotated.body.refresh_token as string)).status).toBe(200);
  });
});
