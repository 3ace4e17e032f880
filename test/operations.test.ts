import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { testRedisUrl } from './support/test-env.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'ops@example.test', password: 'operators-passphrase-123' };
const insecure = { execute: [oauth.allowInsecureRequests] };

/** Registers an API, a user and a confidential client; returns an openid-client configuration for it. */
async function seed(gh: TestGatehouse) {
  await gh.services.resources.createResource({ identifier: API, scope: 'read' });
  await gh.services.accounts.registerAccount(user);
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Ops App',
    redirectUris: [REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    scope: 'openid offline_access read',
    resources: [API],
  });
  const config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), insecure);
  return { clientId: client.client_id, clientSecret: clientSecret!, config };
}

const codeFlow = (config: oauth.Configuration, prompt?: string) =>
  startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', ...(prompt ? { prompt } : {}) });

/**
 * A user agent that adds headers to every request and keeps every Set-Cookie it receives. With
 * X-Forwarded-Proto: https it plays a TLS terminator: https URLs are fetched over plain http.
 */
function recordingAgent(extra: Record<string, string> = {}): UserAgent & { setCookies: string[] } {
  const ua = createUserAgent();
  const setCookies: string[] = [];
  const request = async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    const res = await ua.request(url.replace(/^https:\/\/127\.0\.0\.1:/, 'http://127.0.0.1:'), { ...init, headers });
    setCookies.push(...res.headers.getSetCookie());
    return res;
  };
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  return {
    ...ua,
    setCookies,
    request,
    get: (url) => request(url, { headers: { accept: 'text/html' } }),
    postForm: (url, fields) =>
      request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: form(ua.formFields(url, fields)),
      }),
  };
}

const cookieNames = (setCookies: string[]) => new Set(setCookies.map((c) => c.slice(0, c.indexOf('='))));

describe('operations', () => {
  const gh = useTestGatehouse();
  let app: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    app = await seed(gh);
  });

  it('answers /healthz with 200 ok', async () => {
    const res = await fetch(`${gh.issuer}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 when Postgres (and Redis, when configured) answer', async () => {
    const res = await fetch(`${gh.issuer}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(body.checks.postgres).toBe('ok');
    if (testRedisUrl) expect(body.checks.redis).toBe('ok');
  });

  it('labels request metrics by route name, never by raw path', async () => {
    await oauth.clientCredentialsGrant(app.config, { scope: 'read', resource: API });
    const idPath = `/interaction/${'x'.repeat(40)}`;
    await fetch(`${gh.issuer}${idPath}`);
    await fetch(`${gh.issuer}/no/such/${app.clientId}`);
    const res = await fetch(`${gh.issuer}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^gatehouse_http_requests_total\{[^}]*route="token"[^}]*status="200"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^gatehouse_http_request_duration_seconds_bucket\{[^}]*route="token"[^}]*\} [1-9]/m);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    expect(
      [...routes].every((r) => /^[a-z_]+$/.test(r!)),
      [...routes].join(', '),
    ).toBe(true);
    // A client id appears only as the label of the per-client token counter, never as a path.
    const withClientId = text.split('\n').filter((line) => line.includes(app.clientId));
    expect(withClientId.length).toBeGreaterThan(0);
    expect(withClientId.every((line) => line.startsWith('gatehouse_tokens_issued_total{'))).toBe(true);
    expect(text).not.toContain(idPath);
  });

  it('never logs a secret, password, code or token, and logs each request without its query string', async () => {
    const cc = await oauth.clientCredentialsGrant(app.config, { scope: 'read', resource: API });
    const { url, redeem } = await codeFlow(app.config, 'consent');
    const callback = await signIn(createUserAgent(), url, user, REDIRECT_URI);
    const code = callback.searchParams.get('code')!;
    const tokens = await redeem(callback);
    const refreshed = await oauth.refreshTokenGrant(app.config, tokens.refresh_token!);
    expect((await oauth.tokenIntrospection(app.config, refreshed.access_token)).active).toBe(true);
    const { clientSecret: rotated } = await gh.services.clients.rotateClientSecret(app.clientId);

    const logs = gh.rawLogs();
    const secrets = {
      clientSecret: app.clientSecret,
      rotated,
      password: user.password,
      code,
      cc: cc.access_token,
      at: tokens.access_token,
      rt: tokens.refresh_token!,
      rt2: refreshed.refresh_token!,
      idToken: tokens.id_token!,
    };
    for (const [name, value] of Object.entries(secrets)) expect(logs.includes(value), `${name} leaked into the logs`).toBe(false);
    // JWT signatures alone are enough to replay nothing, but a logged token is still a leak.
    expect(logs.includes(tokens.access_token.split('.')[2]!)).toBe(false);

    const requests = gh.logs().filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThan(5);
    for (const line of requests) {
      expect(line).toMatchObject({ method: expect.any(String), path: expect.any(String), status: expect.any(Number), route: expect.any(String) });
      expect(line.path).not.toContain('?');
    }
    expect(requests.some((l) => l.path === '/auth' && l.route === 'authorization')).toBe(true);
    // Restore a known secret for the tests that follow.
    app = {
      ...app,
      clientSecret: rotated,
      config: await oauth.discovery(new URL(gh.issuer), app.clientId, undefined, oauth.ClientSecretBasic(rotated), insecure),
    };
  });

  it('sends nosniff and no-referrer on the token endpoint', async () => {
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it("serves the login page with a script-free CSP (default-src 'none', no 'unsafe-inline') and no-store", async () => {
    const ua = createUserAgent();
    const { url } = await codeFlow(app.config);
    const started = await ua.get(url.href);
    const res = await ua.get(new URL(started.headers.get('location')!, gh.issuer).href);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="password"');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toContain('no-store');
  });

  // The issuer is plain http on loopback, a secure context for browsers: the cookies are Secure
  // (the session cookie must be, being SameSite=None for POST /auth; see session-cookies.ts).
  it('sets HttpOnly, Secure cookies: the session SameSite=None, the interaction cookies SameSite=Lax', async () => {
    const ua = recordingAgent({ 'x-forwarded-proto': 'https' }); // ignored: TRUST_PROXY is off
    const { url } = await codeFlow(app.config);
    await signIn(ua, url, user, REDIRECT_URI);
    for (const name of ['_interaction', '_interaction_resume', '_session']) expect(cookieNames(ua.setCookies).has(name), name).toBe(true);
    for (const cookie of ua.setCookies) {
      expect(cookie).toMatch(/;\s*httponly/i);
      expect(cookie).toMatch(/;\s*secure/i);
      expect(cookie).toMatch(cookie.startsWith('_session') ? /;\s*samesite=none/i : /;\s*samesite=lax/i);
    }
  });

  it('ignores X-Forwarded-Proto and X-Forwarded-Host without TRUST_PROXY: discovery keeps the issuer URLs', async () => {
    const res = await fetch(`${gh.issuer}/.well-known/openid-configuration`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    });
    const metadata = (await res.json()) as Record<string, string>;
    expect(metadata.issuer).toBe(gh.issuer);
    expect(metadata.token_endpoint).toBe(`${gh.issuer}/token`);
    expect(metadata.authorization_endpoint).toBe(`${gh.issuer}/auth`);
  });
});

describe('operations behind a TLS terminator (TRUST_PROXY=1)', () => {
  const gh = useTestGatehouse({ TRUST_PROXY: '1' });

  it('marks the interaction and session cookies Secure when the proxy says https', async () => {
    const { config } = await seed(gh);
    const ua = recordingAgent({ 'x-forwarded-proto': 'https' });
    const { url } = await codeFlow(config);
    await signIn(ua, url, user, REDIRECT_URI);
    for (const name of ['_interaction', '_interaction_resume', '_session']) expect(cookieNames(ua.setCookies).has(name), name).toBe(true);
    for (const cookie of ua.setCookies) {
      expect(cookie).toMatch(/;\s*secure/i);
      expect(cookie).toMatch(/;\s*httponly/i);
      expect(cookie).toMatch(cookie.startsWith('_session') ? /;\s*samesite=none/i : /;\s*samesite=lax/i);
    }
  });
});

describe('readiness with Redis unreachable', () => {
  // Port 1 is closed: every Redis command fails (or times out) while Postgres is fine.
  const gh = useTestGatehouse({ REDIS_URL: 'redis://127.0.0.1:1' }, { useRedis: true });

  it('answers /readyz with 503 naming Redis, within the check timeout, while /healthz stays 200', async () => {
    const started = Date.now();
    const res = await fetch(`${gh.issuer}/readyz`, { signal: AbortSignal.timeout(5000) });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable' } });
    expect((await fetch(`${gh.issuer}/healthz`)).status).toBe(200);
  });
});
