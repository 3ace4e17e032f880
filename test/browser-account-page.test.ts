import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Locale, MESSAGES } from '../src/i18n/messages.ts';
import { contrastRatios, createScreenshotter, desktopViewport, launchChromium, startCallbackServer, watchForProblems } from './support/browser.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { oauthError } from './support/oauth-error.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshot = createScreenshotter();
const API = 'https://photos.api.test';
const linkIn = (text: string | undefined) => /https?:\/\/\S+/.exec(text ?? '')![0];

/**
 * The account page in a real browser, against real Postgres, Redis and SMTP, in English and in
 * Korean: reached through a sign-in at an application, it changes the address (the new one's
 * link, the old one told), takes an application's access back (its access token refused at
 * /forward-auth within seconds), asks to confirm it is you once the sign-in is old, and deletes
 * the account. Every page: no CSP violation, every control reachable with the keyboard.
 */
describe.runIf(existsSync(chromiumPath))('the account page in Chromium', { timeout: 180_000 }, () => {
  const storage = newStorage();
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let config: oauth.Configuration;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    [gh, browser, callback] = await Promise.all([startTestGatehouse(storage, { SMTP_URL: smtp.url }), launchChromium(), startCallbackServer()]);
    await gh.services.resources.createResource({ identifier: API, scope: 'photos:read' });
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Photo Album',
      redirectUris: [callback.url],
      scope: 'openid email profile offline_access photos:read',
      resources: [API],
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await gh?.stop();
    await smtp?.stop();
    await dropStorage(storage);
  });

  const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
  const forwardAuth = (token: string) =>
    fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(API)}`, { headers: { authorization: `Bearer ${token}` } });

  /** Tab through the page: every link, button and visible field of <main> gets the focus, with a ring. */
  async function everyControlReachable(page: Page) {
    const controls = await page.locator('main a, main button, main input:not([type=hidden]):not([hidden])').count();
    await page.locator('body').focus();
    const seen = new Set<string>();
    for (let i = 0; i < controls + 4; i += 1) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const all = [...document.querySelectorAll('main a, main button, main input')];
        return { index: el.closest('main') ? all.indexOf(el) : -1, outline: `${getComputedStyle(el).outlineStyle} ${getComputedStyle(el).outlineWidth}` };
      });
      if (f.index >= 0) {
        seen.add(String(f.index));
        expect(f.outline).toBe('solid 3px');
      }
    }
    expect(seen.size).toBe(controls);
  }

  it.each([
    ['en', 'en-US'],
    ['ko', 'ko-KR'],
  ] as [Locale, string][])("changes the email, takes an app's access back and deletes the account, in %s (%s)", async (lang, browserLocale) => {
    const t = MESSAGES[lang];
    const email = `account-${lang}@example.test`;
    const newEmail = `account-${lang}-new@example.test`;
    const password = `${lang} account page passphrase`;
    await gh.services.accounts.registerAccount({ email, password, name: lang === 'en' ? 'Robin Park' : '박로빈' });
    const context = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
    const page = await context.newPage();
    const problems = watchForProblems(page, gh.issuer);
    try {
      // Signed in at the application (with its API), as its users are.
      const flow = await startCodeFlow(config, {
        redirect_uri: callback.url,
        scope: 'openid email profile offline_access photos:read',
        resource: API,
        prompt: 'consent',
      });
      await page.goto(flow.url.href);
      await page.getByLabel(t.login.email).fill(email);
      await page.getByLabel(t.login.password).fill(password);
      await page.getByRole('button', { name: t.login.submit }).click();
      await page.getByRole('button', { name: t.consent.allow }).click();
      await page.waitForURL((u) => u.href.startsWith(callback.url));
      const tokens = await flow.redeem(new URL(page.url()));
      expect((await forwardAuth(tokens.access_token)).status).toBe(200);

      // The account page: no second password (the Gatehouse session signs it in).
      await page.goto(`${gh.issuer}/account`);
      await expect.poll(() => heading(page)).toBe(t.account.title);
      await expect.poll(() => page.getAttribute('html', 'lang')).toBe(lang);
      await expect.poll(() => page.getByRole('heading', { name: 'Photo Album' }).count()).toBe(1);
      await expect.poll(() => page.getByText(t.account.sessions.thisBrowser, { exact: true }).count()).toBe(1);
      expect((await screenshot(page, `${lang}-account`)).phoneScrollWidth).toBeLessThanOrEqual(390);
      await everyControlReachable(page);
      for (const { selector, ratio } of await contrastRatios(page, ['h1', 'h2', 'h3', 'p', 'label', 'a', 'button', '.badge'])) {
        expect(ratio, selector).toBeGreaterThanOrEqual(4.5);
      }

      // Change the address: it waits for the link sent to the new one.
      await page.getByLabel(t.account.email.newEmail).fill(newEmail);
      await page.getByRole('button', { name: t.account.email.change }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toBe(t.account.done.email_link_sent);
      await expect.poll(() => page.getByText(t.account.email.pending(newEmail)).count()).toBe(1);
      const confirmMail = await smtp.nextMessageFor(newEmail);
      expect(confirmMail.subject).toContain(lang === 'en' ? 'Confirm your new email address' : '새 이메일 주소를 확인해 주세요');
      expect(await gh.services.accounts.findByEmail(email)).toBeDefined();
      const mailTab = await context.newPage();
      const mailProblems = watchForProblems(mailTab, gh.issuer);
      await mailTab.goto(linkIn(confirmMail.text));
      await expect.poll(() => heading(mailTab)).toBe(t.confirmEmail.title);
      await screenshot(mailTab, `${lang}-confirm-email`);
      await mailTab.getByRole('button', { name: t.confirmEmail.submit }).click();
      await expect.poll(() => heading(mailTab)).toBe(t.confirmEmail.doneTitle);
      await screenshot(mailTab, `${lang}-email-changed`);
      await mailTab.close();
      const told = await smtp.nextMessageFor(email);
      expect(told.subject).toContain(lang === 'en' ? 'Your email address was changed' : '이메일 주소가 변경되었습니다');
      expect(told.text).toContain(newEmail);
      await page.reload();
      await expect.poll(() => page.getByText(t.account.signedInAs(newEmail)).count()).toBe(1);

      // Take the application's access back: its refresh token and its access token stop working.
      await page.getByRole('button', { name: t.account.apps.revoke('Photo Album') }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toBe(t.account.done.app_revoked);
      await expect.poll(() => page.getByText(t.account.apps.none).count()).toBe(1);
      const revokedAt = Date.now();
      await expect.poll(async () => (await forwardAuth(tokens.access_token)).status, { timeout: 10_000, interval: 200 }).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(10_000);
      expect(await oauthError(oauth.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });

      // Ten minutes later the sensitive forms give way to "confirm it is you".
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      try {
        vi.setSystemTime(Date.now() + 11 * 60_000);
        await page.reload();
        await expect.poll(() => page.getByRole('link', { name: t.account.recentButton }).count()).toBe(3);
        await page.locator('#delete').scrollIntoViewIfNeeded();
        await screenshot(page, `${lang}-account-confirm-it-is-you`);
        await page.locator('#delete').getByRole('link', { name: t.account.recentButton }).click();
        await expect.poll(() => heading(page)).toBe(t.login.title);
        await page.getByLabel(t.login.email).fill(newEmail);
        await page.getByLabel(t.login.password).fill(password);
        await page.getByRole('button', { name: t.login.submit }).click();
        await page.waitForURL((u) => u.pathname === '/account');
        await expect.poll(() => page.locator('#delete').getByLabel(t.account.delete.password, { exact: true }).count()).toBe(1);

        // Delete the account.
        await page.locator('#delete').getByLabel(t.account.delete.password, { exact: true }).fill(password);
        await page.getByRole('button', { name: t.account.delete.submit }).click();
        await expect.poll(() => heading(page)).toBe(t.account.deletedTitle);
        await screenshot(page, `${lang}-account-deleted`);
      } finally {
        vi.useRealTimers();
      }
      expect(await gh.services.accounts.findByEmail(newEmail)).toBeUndefined();
      expect([...problems, ...mailProblems]).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
