import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { type Answer, authorizationUrl, type Page, walkPages } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'mina@example.test', password: 'consent-memory-passphrase' };

/** Signs in and allows whatever is asked. */
const allowAll = (p: Page): Answer => (p.kind === 'login' ? { post: 'login', fields: user } : { post: 'confirm' });

describe('remembered consent and first-party clients', () => {
  const gh = useTestGatehouse();
  const discover = async (name: string, options: { isFirstParty?: boolean } = {}) => {
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name,
      redirectUris: [REDIRECT_URI],
      scope: 'openid email profile read write',
      resources: [API],
      ...options,
    });
    return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), { execute: [oauth.allowInsecureRequests] });
  };
  const flow = async (ua: UserAgent, config: oauth.Configuration, scope: string, answer: (p: Page) => Answer = allowAll, extra: Record<string, string> = {}) =>
    walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope, resource: API, ...extra }), REDIRECT_URI, answer);
  const kinds = (r: { pages: Page[] }) => r.pages.map((p) => p.kind);

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount(user);
  });

  it('does not ask again for the same scopes in a new session', async () => {
    const config = await discover('Remembering App');
    const first = await flow(createUserAgent(), config, 'openid email read');
    expect(kinds(first)).toEqual(['login', 'consent']);
    expect(first.callback?.searchParams.get('code')).toBeTruthy();

    const second = await flow(createUserAgent(), config, 'openid email read');
    expect(kinds(second)).toEqual(['login']);
    expect(second.callback?.searchParams.get('code')).toBeTruthy();
  });

  it('does not ask again after the user signed out, though signing out revoked the grant', async () => {
    const config = await discover('Sign-out App');
    const ua = createUserAgent();
    expect(kinds(await flow(ua, config, 'openid email'))).toEqual(['login', 'consent']);
    const logout = await (await ua.get(`${gh.issuer}/session/end`)).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(logout)![1]!;
    expect((await ua.postForm(`${gh.issuer}/session/end/confirm`, { xsrf, logout: 'yes' })).status).toBe(303);

    const again = await flow(ua, config, 'openid email');
    expect(kinds(again)).toEqual(['login']);
  });

  it('asks only for what was never allowed when the client asks for more', async () => {
    const config = await discover('Growing App');
    await flow(createUserAgent(), config, 'openid read');
    const more = await flow(createUserAgent(), config, 'openid email read write');
    expect(kinds(more)).toEqual(['login', 'consent']);
    const consent = more.pages[1]!.body;
    expect(consent).toContain('See your email address');
    expect(consent).toContain(`Use “write” on ${API}`);
    expect(consent).not.toContain(`Use “read” on ${API}`);
    expect(consent).not.toContain('Know who you are');

    expect(kinds(await flow(createUserAgent(), config, 'openid email read write'))).toEqual(['login']);
  });

  it('does not remember a denial: the next sign-in asks again', async () => {
    const config = await discover('Denied App');
    const deny = (p: Page): Answer => (p.kind === 'login' ? { post: 'login', fields: user } : { post: 'abort' });
    const denied = await flow(createUserAgent(), config, 'openid email', deny);
    expect(denied.callback?.searchParams.get('error')).toBe('access_denied');
    expect(kinds(await flow(createUserAgent(), config, 'openid email'))).toEqual(['login', 'consent']);
  });

  it('still shows the consent page for prompt=consent, listing what the app will get', async () => {
    const config = await discover('Prompting App');
    await flow(createUserAgent(), config, 'openid email');
    const prompted = await flow(createUserAgent(), config, 'openid email', allowAll, { prompt: 'consent' });
    expect(kinds(prompted)).toEqual(['login', 'consent']);
    expect(prompted.pages[1]!.body).toContain('See your email address');
  });

  it('asks for the password once with prompt=login and a consent to give, and says when it was given', async () => {
    const config = await discover('Re-authenticating App');
    const ua = createUserAgent();
    const first = await flow(ua, config, 'openid email', allowAll, { prompt: 'login' });
    expect(kinds(first)).toEqual(['login', 'consent']);
    expect(first.callback?.searchParams.get('code')).toBeTruthy();
    // Signed in already, in the same browser: prompt=login asks again, once, and the new scope's consent.
    const beforeLogin = Math.floor(Date.now() / 1000);
    const again = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email read', resource: API, prompt: 'login' });
    const second = await walkPages(ua, again.url, REDIRECT_URI, allowAll);
    expect(kinds(second)).toEqual(['login', 'consent']);
    const tokens = await again.redeem(second.callback!);
    const authTime = tokens.claims()!.auth_time!;
    expect(authTime).toBeGreaterThanOrEqual(beforeLogin); // the password just given, not the first sign-in
  });

  it('never shows the consent page for a first-party client, and its tokens carry what it asked for', async () => {
    const config = await discover('Own App', { isFirstParty: true });
    const exchange = async (scope: string, resource?: string) => {
      const codeFlow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope, ...(resource ? { resource } : {}) });
      const result = await walkPages(createUserAgent(), codeFlow.url, REDIRECT_URI, allowAll);
      expect(kinds(result)).toEqual(['login']);
      return codeFlow.redeem(result.callback!, resource ? { resource } : undefined);
    };
    // An API token carries the API's scopes (RFC 8707); the OpenID scopes show at userinfo.
    expect((await exchange('openid read', API)).scope).toBe('read');
    const tokens = await exchange('openid email');
    const info = await oauth.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(info.email).toBe(user.email);
  });
});
