import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Locale, MESSAGES } from '../src/i18n/messages.ts';
import { createScreenshotter, desktopViewport, launchChromium, startCallbackServer, watchForProblems } from './support/browser.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { type NaverUpstream, startNaverUpstream } from './support/upstream-naver.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshot = createScreenshotter();

// Upstream sign-in in a real browser: Gatehouse on 127.0.0.1, "Google" (another oidc-provider)
// and "Naver" on 127.0.0.2, so each keeps its own cookies as separate sites do.
describe.runIf(existsSync(chromiumPath))('upstream sign-in in Chromium', { timeout: 120_000 }, () => {
  let google: OidcUpstream;
  let naver: NaverUpstream;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let rp: oauth.Configuration;

  beforeAll(async () => {
    [google, naver, browser, callback] = await Promise.all([
      startOidcUpstream(),
      startNaverUpstream({ clientId: 'gatehouse-naver', clientSecret: 'naver-browser-secret' }),
      launchChromium(),
      startCallbackServer(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await google?.close();
    await naver?.close();
  });
  const gh = useTestGatehouse(() => ({
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: 'google-browser-secret',
    UPSTREAM_GOOGLE_ISSUER: google.issuer,
    ...naver.env,
  }));
  beforeAll(async () => {
    google.start([{ client_id: 'gatehouse-google', client_secret: 'google-browser-secret', redirect_uris: [`${gh.issuer}/upstream/google/callback`] }]);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Photo Album',
      redirectUris: [callback.url],
      scope: 'openid email profile',
      isFirstParty: true,
    });
    rp = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  it.each([
    ['en', 'en-US'],
    ['ko', 'ko-KR'],
  ] as [Locale, string][])(
    'signs in with an upstream from the login page button, ending with tokens at the application, in %s',
    async (lang, browserLocale) => {
      const t = MESSAGES[lang];
      const context = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
      const page = await context.newPage();
      const problems = watchForProblems(page, gh.issuer);
      try {
        const flow = await startCodeFlow(rp, { redirect_uri: callback.url, scope: 'openid email profile' });
        await page.goto(flow.url.href);
        await expect.poll(() => page.getAttribute('html', 'lang')).toBe(lang);
        await expect.poll(() => page.getByRole('heading', { level: 2 }).textContent()).toBe(t.login.upstreamHeading);
        expect((await screenshot(page, `${lang}-login-upstreams`)).phoneScrollWidth).toBeLessThanOrEqual(390);

        // Naver names an address that already has an account, unverified: a page says so, no link.
        await gh.services.accounts.registerAccount({ email: `taken-${lang}@example.test`, password: `${lang} an existing passphrase` });
        naver.behaviour.user = { id: `naver-${lang}`, email: `taken-${lang}@example.test`, name: 'Taken' };
        await page.getByRole('button', { name: t.login.upstreamButton('Naver') }).click();
        await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.upstream.emailInUseTitle);
        await screenshot(page, `${lang}-upstream-email-in-use`);
        await page.getByRole('link', { name: t.upstream.backToSignIn }).click();

        // Google vouches for a new address: an account is made and the application gets its tokens.
        google.users.set(`google-${lang}`, { email: `google-${lang}@example.test`, email_verified: true, name: lang === 'en' ? 'Robin Park' : '박로빈' });
        google.behaviour.subject = `google-${lang}`;
        await page.getByRole('button', { name: t.login.upstreamButton('Google') }).click();
        await page.waitForURL((u) => u.href.startsWith(callback.url));
        const tokens = await flow.redeem(new URL(page.url()));
        const account = await gh.services.accounts.findByEmail(`google-${lang}@example.test`);
        expect(tokens.claims()!.sub).toBe(account!.id);
        expect(tokens.access_token).toBeTruthy();

        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
