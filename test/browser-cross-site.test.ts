import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { desktopViewport, launchChromium, startOtherSite, watchForProblems } from './support/browser.ts';
import { type CodeFlow, startCodeFlow } from './support/code-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';

const chromiumPath = '/usr/bin/chromium';
const t = MESSAGES.en;
const victim = { email: 'victim@example.test', password: 'the victim passphrase' };
const attacker = { email: 'attacker@example.test', password: 'the attacker passphrase' };

// Gatehouse on http://127.0.0.1:<port>; the application and the attacker on http://localhost:<port>,
// another site for Chromium's SameSite rules. The session cookie is SameSite=None (so that an
// application's POST /auth sees the session); these tests show what that allows, and what not.
describe.runIf(existsSync(chromiumPath))('cross-site requests in Chromium', { timeout: 120_000 }, () => {
  let google: OidcUpstream;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startOtherSite>>;
  let config: oauth.Configuration;

  beforeAll(async () => {
    [site, browser, google] = await Promise.all([startOtherSite(), launchChromium(), startOidcUpstream()]);
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await google?.close();
  });
  const gh = useTestGatehouse(() => ({
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: 'google-cross-site-secret',
    UPSTREAM_GOOGLE_ISSUER: google.issuer,
  }));
  beforeAll(async () => {
    google.start([{ client_id: 'gatehouse-google', client_secret: 'google-cross-site-secret', redirect_uris: [`${gh.issuer}/upstream/google/callback`] }]);
    await gh.services.accounts.registerAccount(victim);
    await gh.services.accounts.registerAccount(attacker);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Cross-site App',
      redirectUris: [site.callbackUrl],
      postLogoutRedirectUris: [site.signedOutUrl],
      scope: 'openid email',
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  async function withPage<T>(run: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
    const context = await browser.newContext({ locale: 'en-US', viewport: desktopViewport });
    try {
      return await run(await context.newPage(), context);
    } finally {
      await context.close();
    }
  }

  const authorizationParams = (prompt?: string) =>
    startCodeFlow(config, { redirect_uri: site.callbackUrl, scope: 'openid email', ...(prompt ? { prompt } : {}) });

  /** The application's page posts the authorization request to /auth (mod_auth_openidc's POST mode). */
  async function postToAuth(page: Page) {
    const flow = await authorizationParams();
    await page.goto(site.postPage(`${gh.issuer}/auth`, Object.fromEntries(flow.url.searchParams)));
    return flow;
  }

  async function atCallback(page: Page, flow: CodeFlow) {
    await page.waitForURL((u) => u.href.startsWith(site.callbackUrl));
    return flow.redeem(new URL(page.url()));
  }

  async function signInOnPage(page: Page, user: { email: string; password: string }) {
    await page.getByLabel(t.login.email).fill(user.email);
    await page.getByLabel(t.login.password).fill(user.password);
    await page.getByRole('button', { name: t.login.submit }).click();
  }

  /** Whether the browser is signed in at Gatehouse: prompt=none answers with a code only then. */
  async function isSignedIn(page: Page): Promise<boolean> {
    await page.goto((await authorizationParams('none')).url.href);
    await page.waitForURL((u) => u.href.startsWith(site.callbackUrl));
    return new URL(page.url()).searchParams.has('code');
  }

  /** The attacker's page posts `fields` to `target`; returns the status our server answered with. */
  async function attack(page: Page, target: string, fields: Record<string, string>): Promise<number> {
    const answered = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
    await page.goto(site.postPage(target, fields));
    const response = await answered;
    await page.waitForLoadState();
    return response.status();
  }

  it("signs in through an application's cross-site POST to /auth, and with the session alive answers the next one at once", async () => {
    await withPage(async (page) => {
      const problems = watchForProblems(page, gh.issuer);
      const flow = await postToAuth(page);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.login.title);
      await signInOnPage(page, victim);
      await page.getByRole('button', { name: t.consent.allow }).click();
      expect((await atCallback(page, flow)).claims()?.email).toBe(victim.email);

      // The session cookie came along on the cross-site POST: no sign-in page this time.
      const documents: string[] = [];
      page.on('request', (r) => r.resourceType() === 'document' && documents.push(r.url()));
      const again = await postToAuth(page);
      expect((await atCallback(page, again)).claims()?.email).toBe(victim.email);
      expect(documents.filter((u) => u.includes('/interaction/'))).toEqual([]);
      expect(problems).toEqual([]);
    });
  });

  it('logs out from the application back to its registered post_logout_redirect_uri, ending the Gatehouse session', async () => {
    await withPage(async (page, context) => {
      const flow = await postToAuth(page);
      await signInOnPage(page, victim);
      const tokens = await atCallback(page, flow); // consent is remembered from the test above
      expect(await isSignedIn(page)).toBe(true);

      // GET, as openid-client's buildEndSessionUrl gives it …
      await page.goto(oauth.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: site.signedOutUrl, state: 'bye' }).href);
      await page.getByRole('button', { name: t.logout.yes }).click();
      await page.waitForURL((u) => u.href.startsWith(site.signedOutUrl));
      expect(new URL(page.url()).searchParams.get('state')).toBe('bye');
      expect((await context.cookies(gh.issuer)).map((c) => c.name)).not.toContain('_session');
      expect(await isSignedIn(page)).toBe(false);

      // … and POST from the application's page (RP-Initiated Logout §2).
      const second = await postToAuth(page);
      await signInOnPage(page, victim);
      const more = await atCallback(page, second);
      await page.goto(
        site.postPage(`${gh.issuer}/session/end`, { id_token_hint: more.id_token!, post_logout_redirect_uri: site.signedOutUrl, state: 'bye-again' }),
      );
      await page.getByRole('button', { name: t.logout.yes }).click();
      await page.waitForURL((u) => u.href.startsWith(site.signedOutUrl) && u.searchParams.get('state') === 'bye-again');
      expect(await isSignedIn(page)).toBe(false);
    });
  });

  it('refuses forms another site submits to the login, sign-up, cancel and upstream endpoints', async () => {
    await withPage(async (page, context) => {
      const { url } = await authorizationParams('login');
      await page.goto(url.href);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.login.title);
      const interaction = page.url().replace(/\/$/, ''); // the attacker knows it: the worst case
      const cases: [string, Record<string, string>][] = [
        ['login', attacker], // login CSRF: the victim signed in as the attacker
        ['signup', { email: 'planted@example.test', password: 'a planted passphrase' }],
        ['abort', {}],
        ['upstream/google', {}],
      ];
      for (const [path, fields] of cases) {
        const status = await attack(page, `${interaction}/${path}`, fields);
        expect([400, 403], path).toContain(status);
        expect(new URL(page.url()).origin, path).toBe(gh.issuer); // never sent on: to the app, or to Google
      }
      expect((await context.cookies(gh.issuer)).map((c) => c.name)).not.toContain('_session');
      expect(await gh.services.accounts.findByEmail('planted@example.test')).toBeUndefined();

      // The victim's own sign-in is untouched by all that (consent is remembered from the first test).
      await page.goto(interaction);
      await signInOnPage(page, victim);
      await page.waitForURL((u) => u.href.startsWith(site.callbackUrl));
      expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    });
  });

  it('refuses forms another site submits to consent and to the logout confirmation, while the session cookie goes along', async () => {
    await withPage(async (page) => {
      const flow = await postToAuth(page);
      await signInOnPage(page, victim);
      await atCallback(page, flow);
      site.received.length = 0;

      // A consent page for more than was granted: the attacker would have it allowed.
      const { url } = await authorizationParams('consent');
      await page.goto(url.href);
      await expect.poll(() => page.getByRole('button', { name: t.consent.allow }).count()).toBe(1);
      const interaction = page.url().replace(/\/$/, '');
      const consentsBefore = await gh.knex('consents').count({ n: '*' }).first();
      expect([400, 403]).toContain(await attack(page, `${interaction}/confirm`, {}));
      expect(site.received.filter((u) => u.pathname === '/callback')).toEqual([]);
      expect(await gh.knex('consents').count({ n: '*' }).first()).toEqual(consentsBefore);

      // Logout confirmation with a guessed token: the session cookie is sent (SameSite=None), the
      // form's xsrf token is what refuses it.
      expect(await attack(page, `${gh.issuer}/session/end/confirm`, { logout: 'yes', xsrf: 'guessed' })).toBe(400);
      expect(await isSignedIn(page)).toBe(true);
      // A logout request itself only asks the user (RP-Initiated Logout §2); nobody answered.
      await page.goto(site.postPage(`${gh.issuer}/session/end`, {}));
      await expect.poll(() => page.getByRole('button', { name: t.logout.yes }).count()).toBe(1);
      expect(await isSignedIn(page)).toBe(true);
    });
  });
});
