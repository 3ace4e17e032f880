import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RawResponse, rawRequest } from './support/raw-http.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouseHandle, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';
const user = { email: 'flood@example.test', password: 'a long and correct passphrase' };
const FORM = 'application/x-www-form-urlencoded';
const html = { accept: 'text/html' };

/** Interactions stored right now, in Redis or (without it) in Postgres. */
async function storedInteractions(gh: TestGatehouseHandle): Promise<number> {
  if (!gh.redis) return Number((await gh.knex('oidc_payloads').where({ model: 'Interaction' }).count({ n: '*' }))[0]!.n);
  let cursor = '0';
  let count = 0;
  // ioredis applies keyPrefix to commands, not to SCAN patterns.
  do {
    const [next, keys] = await gh.redis.scan(cursor, 'MATCH', `${gh.storage.redisPrefix}Interaction:*`, 'COUNT', 1000);
    count += keys.filter((k) => !k.includes(':uid:')).length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}

const uidOf = (res: RawResponse) => /^\/interaction\/([\w-]+)$/.exec(String(res.headers.location))?.[1];

describe('authorization request flood', () => {
  // A limit high enough that the cap tests never meet it; the rate test has its own instance.
  const gh = useTestGatehouse({ AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '100000' });
  const limited = useTestGatehouse({ AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '20', TRUST_PROXY: '1' });
  let clientId: string;
  let basic: string;
  let limitedClientId: string;
  let limitedPublicClientId: string;
  let limitedBasic: string;
  const params = (extra: Record<string, string> = {}, id = clientId) =>
    new URLSearchParams({
      response_type: 'code',
      client_id: id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
      ...extra,
    });

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const registered = await gh.services.clients.registerClient({
      name: 'Flood App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid email read',
      resources: [API],
    });
    clientId = registered.client.client_id;
    basic = `Basic ${Buffer.from(`${clientId}:${registered.clientSecret}`).toString('base64')}`;
    const confidential = await limited.services.clients.registerClient({ name: 'Flood App', redirectUris: [REDIRECT_URI], scope: 'openid' });
    limitedClientId = confidential.client.client_id;
    limitedBasic = `Basic ${Buffer.from(`${limitedClientId}:${confidential.clientSecret}`).toString('base64')}`;
    limitedPublicClientId = (
      await limited.services.clients.registerClient({ name: 'Flood SPA', redirectUris: [REDIRECT_URI], scope: 'openid', tokenEndpointAuthMethod: 'none' })
    ).client.client_id;
  });

  it('refuses a 14 KB state at GET /auth with 400 and stores nothing', async () => {
    const before = await storedInteractions(gh);
    const res = await rawRequest(gh.issuer, { path: `/auth?${params({ state: 's'.repeat(14_000) })}`, headers: html });
    expect(res.status).toBe(400);
    // Not sent back to the client either: its redirect would carry the 14 KB state again.
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain('state');
    expect(await storedInteractions(gh)).toBe(before);
  });

  // POST /auth is served (OIDC Core §3.1.2.1); the same caps apply: they check ctx.oidc.params.
  it('refuses a 40 KB state in a POST to /auth with a 400 page and stores nothing', async () => {
    const before = await storedInteractions(gh);
    const res = await rawRequest(gh.issuer, {
      method: 'POST',
      path: '/auth',
      headers: { ...html, 'content-type': FORM },
      body: params({ state: 's'.repeat(40_000) }).toString(),
    });
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(await storedInteractions(gh)).toBe(before);
  });

  it('refuses a 40 KB state at the PAR endpoint with 400 invalid_request', async () => {
    const res = await rawRequest(gh.issuer, {
      method: 'POST',
      path: '/request',
      headers: { authorization: basic, 'content-type': FORM },
      body: params({ state: 's'.repeat(40_000) }).toString(),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_request' });
  });

  const overCap: [string, string, Record<string, string>?][] = [
    ['nonce', 'n'.repeat(513)],
    ['login_hint', `${'a'.repeat(600)}@example.test`],
    ['ui_locales', 'en '.repeat(100)],
    ['claims_locales', 'en '.repeat(100)],
    ['acr_values', 'urn:acr:x '.repeat(60)],
    ['max_age', `${'0'.repeat(5000)}1`],
    // Unknown scope values are kept only with a resource (without one, only OpenID scopes are).
    ['scope', `openid read ${'x'.repeat(2100)}`, { resource: API }],
    ['display', 'page'.repeat(20)],
  ];

  it.each(overCap)('sends an over-long %s at GET /auth back to the client as invalid_request, storing nothing', async (name, value, extra = {}) => {
    const before = await storedInteractions(gh);
    const res = await rawRequest(gh.issuer, { path: `/auth?${params({ ...extra, [name]: value })}`, headers: html });
    // RFC 6749 §4.1.2.1: client and redirect_uri are good, so the error goes to the client.
    expect(res.status, res.text.slice(0, 300)).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toContain(name);
    expect(location.searchParams.get('state')).toBe('st');
    expect(await storedInteractions(gh)).toBe(before);
  });

  it.each(overCap)('refuses an over-long %s at the PAR endpoint with 400 invalid_request', async (name, value, extra = {}) => {
    const pushed = await rawRequest(gh.issuer, {
      method: 'POST',
      path: '/request',
      headers: { authorization: basic, 'content-type': FORM },
      body: params({ ...extra, [name]: value }).toString(),
    });
    expect(pushed.status).toBe(400);
    expect(JSON.parse(pushed.text)).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining(name) });
  });

  it('accepts every capped parameter at its cap', async () => {
    const atCap = params({
      state: 's'.repeat(4096),
      nonce: 'n'.repeat(512),
      login_hint: 'a'.repeat(512),
      ui_locales: 'ko en',
      acr_values: 'a'.repeat(512),
      max_age: '3600',
    });
    const res = await rawRequest(gh.issuer, { path: `/auth?${atCap}`, headers: html });
    expect(res.status, res.text.slice(0, 300)).toBe(303);
    expect(uidOf(res)).toBeDefined();
    const pushed = await rawRequest(gh.issuer, {
      method: 'POST',
      path: '/request',
      headers: { authorization: basic, 'content-type': FORM },
      body: atCap.toString(),
    });
    expect(pushed.status, pushed.text).toBe(201);
  });

  it('gives an interaction that never reached a sign-in minutes, and one after the sign-in longer', async () => {
    const ua = createUserAgent();
    const started = await ua.get(`${gh.issuer}/auth?${params({ scope: 'openid email', prompt: 'consent' })}`);
    const uid = /^\/interaction\/([\w-]+)$/.exec(String(started.headers.get('location')))![1]!;
    const loginStep = await gh.provider.Interaction.find(uid);
    expect(loginStep!.exp! - loginStep!.iat!).toBe(600);

    // Sign in (from the login page, whose form carries its CSRF token); the consent step that
    // follows is a new interaction of a signed-in user.
    await ua.get(`${gh.issuer}/interaction/${uid}`);
    const login = await ua.postForm(`${gh.issuer}/interaction/${uid}/login`, user);
    const resumed = await ua.get(new URL(login.headers.get('location')!, gh.issuer).href);
    const consentUid = /^\/interaction\/([\w-]+)$/.exec(String(resumed.headers.get('location')))![1]!;
    expect(consentUid).not.toBe(uid);
    const consentStep = await gh.provider.Interaction.find(consentUid);
    expect(consentStep!.session?.accountId).toBeTruthy();
    expect(consentStep!.exp! - consentStep!.iat!).toBe(3600);

    // And the flow still completes.
    const options = { execute: [oauth.allowInsecureRequests] };
    const config = await oauth.discovery(new URL(gh.issuer), clientId, undefined, oauth.ClientSecretBasic('unused'), options);
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect((await signIn(createUserAgent(), url, user, REDIRECT_URI)).searchParams.get('code')).toBeTruthy();
  });

  it('lets one address start only its per-minute share of authorization requests, then answers 429 with Retry-After', async () => {
    const before = await storedInteractions(limited);
    // The attack: one address fires a burst of /auth requests with big (but allowed) states.
    const burst = await Promise.all(
      Array.from({ length: 200 }, () => rawRequest(limited.issuer, { path: `/auth?${params({ state: 's'.repeat(4000) }, limitedClientId)}`, headers: html })),
    );
    const started = burst.filter((r) => r.status === 303);
    const refused = burst.filter((r) => r.status === 429);
    expect(started).toHaveLength(20);
    expect(refused).toHaveLength(180);
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused[0]!.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused[0]!.headers['content-type']).toMatch(/^text\/html/);
    expect(await storedInteractions(limited)).toBe(before + 20);

    // Another address is not affected (TRUST_PROXY: the client address comes from X-Forwarded-For).
    const other = await rawRequest(limited.issuer, { path: `/auth?${params({}, limitedClientId)}`, headers: { ...html, 'x-forwarded-for': '203.0.113.7' } });
    expect(other.status).toBe(303);
  });

  // A public client's pushed request needs no credentials and is stored too: the same budget.
  it("counts a public client's pushed authorization requests against the address, not a confidential backend's", async () => {
    const from = { 'x-forwarded-for': '198.51.100.9', 'content-type': FORM };
    const pushedBy = (headers: Record<string, string>, body: URLSearchParams) =>
      rawRequest(limited.issuer, { method: 'POST', path: '/request', headers: { ...from, ...headers }, body: body.toString() });
    const burst = await Promise.all(Array.from({ length: 60 }, () => pushedBy({}, params({ state: 's'.repeat(4000) }, limitedPublicClientId))));
    expect(burst.filter((r) => r.status === 201)).toHaveLength(20);
    const refused = burst.filter((r) => r.status === 429);
    expect(refused).toHaveLength(40);
    expect(JSON.parse(refused[0]!.text)).toMatchObject({ error: 'rate_limited' });
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The address's /auth budget is spent as well.
    expect(
      (await rawRequest(limited.issuer, { path: `/auth?${params({}, limitedClientId)}`, headers: { ...html, 'x-forwarded-for': '198.51.100.9' } })).status,
    ).toBe(429);
    // A confidential client's backend pushes for all of its users from one address: not counted.
    const backend = await Promise.all(Array.from({ length: 30 }, () => pushedBy({ authorization: limitedBasic }, params({}, limitedClientId))));
    expect(backend.every((r) => r.status === 201)).toBe(true);
  });
});
