import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionCookiePolicy } from '../src/oidc/session-cookies.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const SIGNED_OUT_URI = 'http://127.0.0.1:9/signed-out';
const user = { email: 'barbara@example.test', password: 'post method passphrase' };
const options = { execute: [oauth.allowInsecureRequests] };
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

/** A Set-Cookie header's attributes, lower-cased, by cookie name. */
function cookieAttributes(setCookies: string[]): Map<string, string[]> {
  return new Map(
    setCookies.map((c) => [
      c.slice(0, c.indexOf('=')),
      c
        .split(';')
        .slice(1)
        .map((a) => a.trim().toLowerCase()),
    ]),
  );
}

// OIDC Core §3.1.2.1: the authorization endpoint takes GET and POST (and RP-Initiated Logout §2
// the end-session endpoint); mod_auth_openidc's POST mode needs it.
describe('POST at the authorization and end-session endpoints', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Posting App',
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [SIGNED_OUT_URI],
      scope: 'openid email',
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), options);
  });

  /** A code flow, and its authorization request as a form body (for POST /auth). */
  async function authorizationParams() {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email' });
    return { ...flow, body: flow.url.searchParams.toString() };
  }

  /** Follows redirects (GET, as a browser after a 303) up to a page or the client's redirect_uri. */
  async function follow(ua: UserAgent, res: Response): Promise<{ res: Response; url: URL }> {
    let url = new URL(res.url || gh.issuer);
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
      url = new URL(res.headers.get('location')!, url);
      if (url.href.startsWith(REDIRECT_URI) || url.href.startsWith(SIGNED_OUT_URI)) return { res, url };
      res = await ua.get(url.href);
    }
    return { res, url };
  }

  it('answers a POST to /auth for a signed-in user with a code, which openid-client redeems', async () => {
    const ua = createUserAgent();
    const first = await authorizationParams();
    await signIn(ua, first.url, user, REDIRECT_URI);

    const { body, redeem } = await authorizationParams();
    const posted = await ua.request(`${gh.issuer}/auth`, { method: 'POST', headers: FORM, body });
    expect(posted.status).toBe(303);
    const callback = new URL(posted.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    const tokens = await redeem(callback);
    expect(tokens.claims()?.email).toBe(user.email);
  });

  it('takes a POST to /auth without a session through the sign-in pages', async () => {
    const ua = createUserAgent();
    const { body, redeem } = await authorizationParams();
    const posted = await ua.request(`${gh.issuer}/auth`, { method: 'POST', headers: FORM, body });
    expect(posted.status).toBe(303);
    const page = await follow(ua, posted);
    expect(await page.res.text()).toContain('name="password"');
    const callback = await signIn(ua, page.url, user, REDIRECT_URI);
    const tokens = await redeem(callback);
    expect(tokens.claims()?.sub).toBeTruthy();
  });

  it('takes a POST to /session/end back to the registered post_logout_redirect_uri', async () => {
    const ua = createUserAgent();
    const { url, redeem } = await authorizationParams();
    const tokens = await redeem(await signIn(ua, url, user, REDIRECT_URI));
    const body = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT_URI, state: 'out' }).toString();
    const page = await ua.request(`${gh.issuer}/session/end`, { method: 'POST', headers: FORM, body });
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const done = await ua.postForm(`${gh.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
    expect(done.headers.get('location')).toBe(`${SIGNED_OUT_URI}?state=out`);
  });

  it('sends the session cookie SameSite=None and Secure (a cross-site POST must carry it); interaction cookies stay Lax', async () => {
    const ua = createUserAgent();
    const setCookies: string[] = [];
    const { url } = await authorizationParams();
    const recording = {
      ...ua,
      get: async (href: string) => {
        const res = await ua.get(href);
        setCookies.push(...res.headers.getSetCookie());
        return res;
      },
      postForm: async (href: string, fields: Record<string, string>) => {
        const res = await ua.postForm(href, fields);
        setCookies.push(...res.headers.getSetCookie());
        return res;
      },
    };
    await signIn(recording, url, user, REDIRECT_URI);
    const attributes = cookieAttributes(setCookies);
    for (const name of ['_session', '_session.sig']) {
      expect(attributes.get(name), name).toEqual(expect.arrayContaining(['samesite=none', 'secure', 'httponly']));
    }
    for (const name of ['_interaction', '_interaction_resume']) {
      expect(attributes.get(name), name).toEqual(expect.arrayContaining(['samesite=lax', 'secure', 'httponly']));
    }
  });
});

// With the session cookie SameSite=None, SameSite no longer keeps other sites' forms out: every
// form we render carries a token bound to its interaction, and a post without it is refused.
describe('CSRF tokens on every form', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'Form App', redirectUris: [REDIRECT_URI], scope: 'openid email' });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), options);
  });

  /** A user agent at the login page of a new flow; returns the interaction URL and the page. */
  async function atLoginPage(ua = createUserAgent()) {
    const { url } = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email', prompt: 'consent' });
    const started = await ua.get(url.href);
    const interaction = new URL(started.headers.get('location')!, gh.issuer).href;
    const page = await (await ua.get(interaction)).text();
    return { ua, interaction, page };
  }

  /** Follows redirects up to a page; returns it and its URL. */
  async function pageAfter(ua: UserAgent, res: Response) {
    let url = new URL(res.url);
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
      url = new URL(res.headers.get('location')!, url);
      res = await ua.get(url.href);
    }
    return { url, body: await res.text() };
  }

  /** Signs in at the login page; returns the consent page and its interaction URL. */
  async function atConsentPage() {
    const { ua, interaction } = await atLoginPage();
    const consent = await pageAfter(ua, await ua.postForm(`${interaction}/login`, user));
    expect(consent.body).toContain('/confirm"');
    return { ua, interaction: consent.url.href.replace(/\/$/, ''), page: consent.body };
  }

  /** Posts a form as another site's page would: the browser's cookies, no token (or a given one). */
  const forged = (ua: UserAgent, href: string, fields: Record<string, string>) =>
    ua.request(href, { method: 'POST', headers: FORM, body: new URLSearchParams(fields).toString() });

  it('puts the same hidden csrf field in every form of the login, sign-up and consent pages', async () => {
    const { ua, interaction, page } = await atLoginPage();
    const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(token).toMatch(/^[\w-]{43}$/);
    const forms = page.match(/<form[^>]*method="post"[^>]*>/g)!;
    const tokens = page.match(/<input type="hidden" name="csrf" value="[^"]+">/g)!;
    expect(tokens).toHaveLength(forms.length); // login, cancel (and one per upstream button)
    expect(new Set(tokens).size).toBe(1);
    expect(await (await ua.get(`${interaction}/signup`)).text()).toContain(`name="csrf" value="${token}"`);
    const consent = await pageAfter(ua, await ua.postForm(`${interaction}/login`, user));
    expect(consent.body).toContain('/confirm"');
    expect(consent.body.match(/name="csrf" value="([^"]+)"/g)).toHaveLength(2); // allow, deny
  });

  it.each([
    ['login', 'login', { email: user.email, password: user.password }],
    ['sign-up', 'signup', { email: 'forged@example.test', password: 'a forged sign-up passphrase' }],
    ['cancel', 'abort', {}],
    ['upstream button', 'upstream/google', {}],
  ])('refuses a %s post without the token (403), changing nothing', async (_what, path, fields) => {
    const { ua, interaction } = await atLoginPage();
    for (const csrf of [undefined, '', 'x'.repeat(43)]) {
      const res = await forged(ua, `${interaction}/${path}`, csrf === undefined ? fields : { ...fields, csrf });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain(`href="/interaction/${new URL(interaction).pathname.split('/')[2]}"`);
    }
    expect(await gh.services.accounts.findByEmail('forged@example.test')).toBeUndefined();
    // The interaction is untouched: its own form, with its token, still works.
    const page = await ua.postForm(`${interaction}/login`, user);
    expect(page.status).toBe(303);
  });

  it("refuses another interaction's token", async () => {
    const mine = await atLoginPage();
    const other = await atLoginPage();
    const otherToken = /name="csrf" value="([^"]+)"/.exec(other.page)![1]!;
    expect((await forged(mine.ua, `${mine.interaction}/login`, { ...user, csrf: otherToken })).status).toBe(403);
  });

  it('refuses a consent or deny post without the token, granting nothing', async () => {
    const { ua, interaction } = await atConsentPage();
    const clientId = config.clientMetadata().client_id;
    const res = await forged(ua, `${interaction}/confirm`, {});
    expect(res.status).toBe(403);
    expect(await gh.knex('consents').where({ client_id: clientId })).toEqual([]);
    // Allow with the page's token goes on to the client.
    expect((await forged(ua, `${interaction}/abort`, {})).status).toBe(403);
    const allowed = await ua.postForm(`${interaction}/confirm`, {});
    expect(allowed.status).toBe(303);
    expect(await gh.knex('consents').where({ client_id: clientId })).toHaveLength(1);
  });
});

// A plain-http issuer on a non-loopback name is no secure context: a browser would drop a
// SameSite=None cookie there (it must be Secure), so POST stays off and cookies stay Lax.
describe('on a plain-http issuer that is not loopback', () => {
  const gh = useTestGatehouse({ ISSUER: 'http://gatehouse.test:3000' });

  it('decides from the issuer: SameSite=None and POST only in a secure context', () => {
    expect(sessionCookiePolicy('https://id.example.com')).toMatchObject({
      enableHttpPostMethods: true,
      long: { sameSite: 'none' },
      short: { sameSite: 'lax' },
    });
    expect(sessionCookiePolicy('http://localhost:3000')).toMatchObject({ enableHttpPostMethods: true, long: { sameSite: 'none' } });
    expect(sessionCookiePolicy('http://[::1]:3000')).toMatchObject({ enableHttpPostMethods: true, long: { sameSite: 'none' } });
    expect(sessionCookiePolicy('http://gatehouse.lan:3000')).toMatchObject({ enableHttpPostMethods: false, long: { sameSite: 'lax' } });
  });

  it('serves GET /auth with Lax cookies that are not Secure', async () => {
    const { client } = await gh.services.clients.registerClient({
      name: 'LAN app',
      redirectUris: [REDIRECT_URI],
      scope: 'openid',
      tokenEndpointAuthMethod: 'none',
    });
    const params = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${gh.issuer}/auth?${params}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const attributes = cookieAttributes(res.headers.getSetCookie());
    expect(attributes.get('_interaction')).toEqual(expect.arrayContaining(['samesite=lax', 'httponly']));
    expect(attributes.get('_interaction')).not.toContain('secure');
    expect((await fetch(`${gh.issuer}/auth`, { method: 'POST', headers: FORM, body: params.toString() })).status).toBe(404);
  });
});
