import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors/app-error.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const SIGNED_OUT_URI = 'http://127.0.0.1:9/signed-out';
const user = { email: 'alan@example.test', password: 'logout passphrase 2026' };
const options = { execute: [oauth.allowInsecureRequests] };

// OpenID Connect RP-Initiated Logout 1.0: the app sends the user to end_session_endpoint with a
// registered post_logout_redirect_uri (exact match, §3.1) and gets them back there signed out.
describe('RP-initiated logout back to the application', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Logout App',
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [SIGNED_OUT_URI],
      scope: 'openid',
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), options);
  });

  const codeFlow = (prompt?: string) => startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid', ...(prompt ? { prompt } : {}) });

  async function signedInAgent(): Promise<{ ua: UserAgent; idToken: string }> {
    const ua = createUserAgent();
    const { url, redeem } = await codeFlow();
    const tokens = await redeem(await signIn(ua, url, user, REDIRECT_URI));
    return { ua, idToken: tokens.id_token! };
  }

  /** Answers the logout page's form (oidc-provider's, with its xsrf token) with "yes". */
  async function confirmLogout(ua: UserAgent, page: Response) {
    const body = await page.text();
    expect(page.status, body).toBe(200);
    const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(body)?.[1];
    expect(action).toMatch(/\/session\/end\/confirm$/);
    return ua.postForm(new URL(action!, gh.issuer).href, { xsrf: xsrf!, logout: 'yes' });
  }

  /** Whether the agent's Gatehouse session is still alive: prompt=none answers login_required without one. */
  async function isSignedIn(ua: UserAgent): Promise<boolean> {
    const { url } = await codeFlow('none');
    const res = await ua.get(url.href);
    const location = new URL(res.headers.get('location')!, gh.issuer);
    expect(location.href.startsWith(REDIRECT_URI)).toBe(true);
    return location.searchParams.has('code');
  }

  it('lists end_session_endpoint in discovery', () => {
    expect(config.serverMetadata().end_session_endpoint).toBe(`${gh.issuer}/session/end`);
  });

  it('returns the user to the registered post_logout_redirect_uri with its state, signed out', async () => {
    const { ua, idToken } = await signedInAgent();
    expect(await isSignedIn(ua)).toBe(true);
    const logoutUrl = oauth.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: SIGNED_OUT_URI, state: 'bye' });
    const done = await confirmLogout(ua, await ua.get(logoutUrl.href));
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(SIGNED_OUT_URI);
    expect(back.searchParams.get('state')).toBe('bye');
    expect(await isSignedIn(ua)).toBe(false);
  });

  it('accepts client_id instead of id_token_hint (RP-Initiated Logout §2)', async () => {
    const { ua } = await signedInAgent();
    const logoutUrl = oauth.buildEndSessionUrl(config, { client_id: config.clientMetadata().client_id, post_logout_redirect_uri: SIGNED_OUT_URI });
    const done = await confirmLogout(ua, await ua.get(logoutUrl.href));
    expect(new URL(done.headers.get('location')!).href).toBe(SIGNED_OUT_URI);
    expect(await isSignedIn(ua)).toBe(false);
  });

  it('refuses an unregistered post_logout_redirect_uri with a page, redirecting nowhere', async () => {
    const { ua, idToken } = await signedInAgent();
    for (const uri of ['https://evil.example/signed-out', `${SIGNED_OUT_URI}/more`, 'http://127.0.0.1:10/signed-out']) {
      const res = await ua.get(oauth.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: uri }).href);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('post_logout_redirect_uri');
    }
    expect(await isSignedIn(ua)).toBe(true);
  });

  it.each([
    ['plain http to another host', 'http://app.example.test/signed-out'],
    ['a fragment', 'https://app.example.test/signed-out#done'],
    ['no URL at all', 'signed-out'],
    ['a script', 'javascript:alert(1)'],
  ])('refuses to register a post-logout redirect URI with %s', async (_what, uri) => {
    const before = (await gh.services.clients.listClients()).length;
    await expect(
      gh.services.clients.registerClient({ name: 'Bad logout URI', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [uri], scope: 'openid' }),
    ).rejects.toBeInstanceOf(AppError);
    expect(await gh.services.clients.listClients()).toHaveLength(before);
  });
});
