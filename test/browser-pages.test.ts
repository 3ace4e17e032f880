import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Locale, MESSAGES } from '../src/i18n/messages.ts';
import { contrastRatios, createScreenshotter, desktopViewport, launchChromium, startCallbackServer, watchForProblems } from './support/browser.ts';
import { type CodeFlow, startCodeFlow } from './support/code-flow.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshot = createScreenshotter();

// A real browser on the real pages. CI installs Chromium (.ci/run), so there this never skips.
describe.runIf(existsSync(chromiumPath))('the sign-in pages in Chromium', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let gh: TestGatehouse;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let config: oauth.Configuration;

  beforeAll(async () => {
    [gh, browser, callback] = await Promise.all([startTestGatehouse(storage), launchChromium(), startCallbackServer()]);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Photo Album',
      redirectUris: [callback.url],
      scope: 'openid email profile',
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await gh?.stop();
    await dropStorage(storage);
  });

  /** Opens /auth in the page; returns the code flow, for the code exchange. */
  async function startSignIn(page: Page): Promise<CodeFlow> {
    const flow = await startCodeFlow(config, { redirect_uri: callback.url, scope: 'openid email profile' });
    await page.goto(flow.url.href);
    return flow;
  }

  /** Waits for the client's callback and redeems its code, as the application would. */
  async function finishAtClient(page: Page, flow: CodeFlow) {
    await page.waitForURL((u) => u.href.startsWith(callback.url));
    const tokens = await flow.redeem(new URL(page.url()));
    return tokens.claims()!;
  }

  const focused = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { id: el.id, text: el.textContent?.trim(), outline: `${getComputedStyle(el).outlineStyle} ${getComputedStyle(el).outlineWidth}` };
    });

  it.each([
    ['en', 'en-US'],
    ['ko', 'ko-KR'],
  ] as [Locale, string][])('signs up, consents, signs out and signs in again without a second consent, in %s (%s)', async (lang, browserLocale) => {
    const t = MESSAGES[lang];
    const email = `browser-${lang}@example.test`;
    const password = `${lang} browser passphrase 2026`;
    const context = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
    const page = await context.newPage();
    const problems = watchForProblems(page, gh.issuer);
    try {
      // Login page, in the browser's language.
      const flow = await startSignIn(page);
      await expect.poll(() => page.getAttribute('html', 'lang')).toBe(lang);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.login.title);
      expect((await screenshot(page, `${lang}-login`)).phoneScrollWidth).toBeLessThanOrEqual(390);

      // Keyboard: email has the focus, then password, the button, "forgot", sign-up, cancel, the other language.
      expect((await focused(page)).id).toBe('email');
      const order = [];
      for (let i = 0; i < 6; i += 1) {
        await page.keyboard.press('Tab');
        order.push(await focused(page));
      }
      expect(order.map((f) => f.id || f.text)).toEqual([
        'password',
        t.login.submit,
        t.login.forgotPassword,
        t.login.createAccount,
        t.login.cancel,
        lang === 'en' ? '한국어' : 'English',
      ]);
      for (const f of order) expect(f.outline).toBe('solid 3px'); // a visible focus ring on each
      for (const { selector, ratio } of await contrastRatios(page, ['h1', 'p', 'label', 'a', 'button'])) {
        expect(ratio, selector).toBeGreaterThanOrEqual(4.5);
      }

      // The switcher, without JavaScript: the other language and back.
      const other = lang === 'en' ? 'ko' : 'en';
      await page.getByRole('link', { name: MESSAGES[other].languageName }).click();
      await expect.poll(() => page.getAttribute('html', 'lang')).toBe(other);
      await page.getByRole('link', { name: t.languageName }).click();
      await expect.poll(() => page.getAttribute('html', 'lang')).toBe(lang);

      // Sign-up: a common password is refused beside its field, which gets the focus.
      await page.getByRole('link', { name: t.login.createAccount }).click();
      await screenshot(page, `${lang}-signup`);
      await page.getByLabel(t.signup.name).fill(lang === 'en' ? 'Robin Park' : '박로빈');
      await page.getByLabel(t.signup.email).fill(email);
      await page.getByLabel(t.signup.password, { exact: true }).fill('sunshine');
      await page.getByRole('button', { name: t.signup.submit }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(t.signup.problems.common_password);
      expect((await focused(page)).id).toBe('password');
      await screenshot(page, `${lang}-signup-error`);
      await page.getByLabel(t.signup.password, { exact: true }).fill(password);
      await page.getByRole('button', { name: t.signup.submit }).click();

      // Consent names the client and the scopes in plain words.
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Photo Album');
      for (const scope of ['email', 'profile'] as const) await expect.poll(() => page.getByText(t.scopes.standard[scope]).count()).toBe(1);
      await screenshot(page, `${lang}-consent`);
      await page.getByRole('button', { name: t.consent.allow }).click();
      expect((await finishAtClient(page, flow)).sub).toBeTruthy();

      // Sign out.
      await page.goto(`${gh.issuer}/session/end`);
      await screenshot(page, `${lang}-logout`);
      await page.getByRole('button', { name: t.logout.yes }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.signedOut.heading);
      await screenshot(page, `${lang}-signed-out`);

      // Sign in again: a wrong password first (an alert), then straight back to the client, no consent page.
      const again = await startSignIn(page);
      await page.getByLabel(t.login.email).fill(email);
      await page.getByLabel(t.login.password).fill('not the password');
      await page.getByRole('button', { name: t.login.submit }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(t.login.failed);
      await screenshot(page, `${lang}-login-error`);
      await page.getByLabel(t.login.password).fill(password);
      await page.getByRole('button', { name: t.login.submit }).click();
      const claims = await finishAtClient(page, again);
      expect(callback.received.filter((u) => u.searchParams.get('code')).length).toBeGreaterThanOrEqual(2);
      expect(claims.sub).toBeTruthy();

      // An expired interaction has its own page.
      await page.goto(`${gh.issuer}/interaction/no-such-interaction`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.errors.expiredTitle);
      await screenshot(page, `${lang}-error`);

      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
