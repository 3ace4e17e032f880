import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl } from './support/page-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'lin@example.test', password: 'pages-passphrase-456' };
const HOSTILE_NAME = '<script>alert(1)</script>';

// Page rendering over HTTP; how the pages look and behave in a browser is tested elsewhere.
describe('sign-in, consent and sign-out pages', () => {
  const gh = useTestGatehouse();
  let friendly: oauth.Configuration;
  let hostile: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount(user);
    const register = async (name: string) => {
      const { client, clientSecret } = await gh.services.clients.registerClient({
        name,
        redirectUris: [REDIRECT_URI],
        scope: 'openid email read',
        resources: [API],
      });
      return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
        execute: [oauth.allowInsecureRequests],
      });
    };
    friendly = await register('Pages App');
    hostile = await register(HOSTILE_NAME);
  });

  const flowUrl = (config: oauth.Configuration, scope = 'openid email read') => authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope });

  /** Follows redirects up to a page or the client's redirect_uri. */
  async function follow(ua: UserAgent, first: Response): Promise<{ res: Response; url: URL; body: string }> {
    let res = first;
    let url = new URL(res.url);
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
      url = new URL(res.headers.get('location')!, url);
      if (url.href.startsWith(REDIRECT_URI)) break;
      res = await ua.get(url.href);
    }
    return { res, url, body: res.status >= 300 && res.status < 400 ? '' : await res.text() };
  }

  /** Starts a flow and returns the login page and its interaction URL. */
  async function loginPage(ua: UserAgent, config: oauth.Configuration, scope?: string) {
    const page = await follow(ua, await ua.get((await flowUrl(config, scope)).href));
    expect(page.res.status).toBe(200);
    expect(page.body).toContain('name="password"');
    return page;
  }

  /** Signs in on the login page and returns the consent page. */
  async function consentPage(ua: UserAgent, config: oauth.Configuration, scope?: string) {
    const login = await loginPage(ua, config, scope);
    const page = await follow(ua, await ua.postForm(`${login.url.href}/login`, user));
    expect(page.res.status).toBe(200);
    expect(page.body).toContain('/confirm"');
    return page;
  }

  it('shows the client name on the login page', async () => {
    const { body } = await loginPage(createUserAgent(), friendly);
    expect(body).toContain('<strong>Pages App</strong>');
  });

  it('escapes a client name holding HTML on the login and consent pages', async () => {
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;';
    const ua = createUserAgent();
    const login = await loginPage(ua, hostile);
    const consent = await consentPage(ua, hostile);
    for (const { body } of [login, consent]) {
      expect(body).toContain(escaped);
      expect(body).not.toContain('<script');
    }
  });

  it('answers a wrong password and an unknown email alike: 401 and the same page', async () => {
    const attempt = async (email: string, password: string) => {
      const ua = createUserAgent();
      const login = await loginPage(ua, friendly);
      const res = await ua.postForm(`${login.url.href}/login`, { email, password });
      const uid = login.url.pathname.split('/')[2]!;
      // The interaction's id and its CSRF token differ from one flow to the next, as they must.
      const body = (await res.text())
        .replaceAll(uid, '<uid>')
        .replaceAll(email, '<email>')
        .replace(/name="csrf" value="[^"]+"/g, 'name="csrf" value="<csrf>"');
      return { status: res.status, body };
    };
    const wrongPassword = await attempt(user.email, 'not-the-password');
    const unknownEmail = await attempt('nobody-here@example.test', user.password);
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toContain('value="<email>"');
    expect(unknownEmail.body).toBe(wrongPassword.body);
  });

  it('lists the requested scopes in plain words, API scopes with their API', async () => {
    const { body } = await consentPage(createUserAgent(), friendly);
    expect(body).toContain('See your email address');
    expect(body).toContain(`Use “read” on ${API}`);
    expect(body).not.toMatch(/<li>email<\/li>/);
  });

  it('sends Deny back to the client as error=access_denied', async () => {
    const ua = createUserAgent();
    const consent = await consentPage(ua, friendly);
    const denied = await follow(ua, await ua.postForm(`${consent.url.href}/abort`, {}));
    expect(denied.url.href.startsWith(REDIRECT_URI)).toBe(true);
    expect(denied.url.searchParams.get('error')).toBe('access_denied');
    expect(denied.url.searchParams.get('state')).toBe('st');
    expect(denied.url.searchParams.get('code')).toBeNull();
  });

  it('signs out through the logout page, after which /auth asks for a password again', async () => {
    const ua = createUserAgent();
    await signIn(ua, await flowUrl(friendly), user, REDIRECT_URI);
    // Signed in: a new request without prompt goes straight back to the client.
    const silent = await follow(ua, await ua.get((await flowUrl(friendly)).href));
    expect(silent.url.searchParams.get('code')).toBeTruthy();

    const logout = await ua.get(`${gh.issuer}/session/end`);
    const page = await logout.text();
    expect(logout.status).toBe(200);
    expect(logout.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page).toContain('id="op.logoutForm"');
    const action = /<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"/.exec(page)?.[1] ?? /<form[^>]*action="([^"]+)"[^>]*id="op\.logoutForm"/.exec(page)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
    expect(action).toMatch(/\/session\/end\/confirm$/);
    expect(xsrf).toBeTruthy();

    const signedOut = await follow(ua, await ua.postForm(new URL(action!, gh.issuer).href, { xsrf: xsrf!, logout: 'yes' }));
    expect(signedOut.res.status).toBe(200);
    expect(signedOut.body).toContain('You are signed out');

    await loginPage(ua, friendly);
  });
});
