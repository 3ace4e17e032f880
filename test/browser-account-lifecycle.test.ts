import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Locale, MESSAGES } from '../src/i18n/messages.ts';
import { createScreenshotter, desktopViewport, launchChromium, startCallbackServer, watchForProblems } from './support/browser.ts';
import { type CodeFlow, startCodeFlow } from './support/code-flow.ts';
import { oauthError } from './support/oauth-error.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshot = createScreenshotter();
const linkIn = (text: string | undefined) => /https?:\/\/\S+/.exec(text ?? '')![0];

/**
 * The account lifecycle in a real browser, against real Postgres, Redis and SMTP: sign up, get
 * the verification mail, follow it, sign in and see email_verified at the application; forget
 * the password, reset it from the mail, and see the old session and refresh token refused.
 * EMAIL_VERIFICATION=required, so the sign-in waits at "check your inbox" (and is screenshotted).
 */
describe.runIf(existsSync(chromiumPath))('the account lifecycle in Chromium', { timeout: 180_000 }, () => {
  const storage = newStorage();
  let smtp: TestSmtp;
  let gh: TestGatehouse;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let config: oauth.Configuration;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    [gh, browser, callback] = await Promise.all([
      startTestGatehouse(storage, { SMTP_URL: smtp.url, EMAIL_VERIFICATION: 'required' }),
      launchChromium(),
      startCallbackServer(),
    ]);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Photo Album',
      redirectUris: [callback.url],
      scope: 'openid email profile offline_access',
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

  /** Opens /auth (with a refresh token asked for); returns the code flow. */
  async function startSignIn(page: Page): Promise<CodeFlow> {
    const flow = await startCodeFlow(config, { redirect_uri: callback.url, scope: 'openid email profile offline_access', prompt: 'consent' });
    await page.goto(flow.url.href);
    return flow;
  }

  /** Consents if asked, waits for the callback and redeems its code, as the application would. */
  async function finishAtClient(page: Page, flow: CodeFlow, allow: string) {
    await page.waitForURL((u) => u.href.startsWith(callback.url) || u.pathname.startsWith('/interaction/'));
    if (!page.url().startsWith(callback.url)) await page.getByRole('button', { name: allow }).click();
    await page.waitForURL((u) => u.href.startsWith(callback.url));
    return flow.redeem(new URL(page.url()));
  }

  const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();

  it.each([
    ['en', 'en-US'],
    ['ko', 'ko-KR'],
  ] as [Locale, string][])('verifies the address, resets the password and ends the old sessions, in %s (%s)', async (lang, browserLocale) => {
    const t = MESSAGES[lang];
    const email = `lifecycle-${lang}@example.test`;
    const password = `${lang} first passphrase 2026`;
    const newPassword = `${lang} second passphrase 2027`;
    const laptop = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
    const phone = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
    const page = await laptop.newPage();
    const problems = watchForProblems(page, gh.issuer);
    try {
      // Sign up: the sign-in stops at "check your inbox".
      const flow = await startSignIn(page);
      await page.getByRole('link', { name: t.login.createAccount }).click();
      await page.getByLabel(t.signup.email).fill(email);
      await page.getByLabel(t.signup.password, { exact: true }).fill(password);
      await page.getByRole('button', { name: t.signup.submit }).click();
      await expect.poll(() => heading(page)).toBe(t.verifyPending.title);
      await screenshot(page, `${lang}-verify-pending`);
      // Continue before the link: the same page says the address is not verified yet.
      await page.getByRole('button', { name: t.verifyPending.continue }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(t.verifyPending.notYet);

      // The mail, in the page's language; its link opens a page with a button (in another tab).
      const mail = await smtp.nextMessageFor(email);
      expect(mail.subject).toContain(lang === 'en' ? 'Verify your email address' : '이메일 주소를 확인해 주세요');
      const mailTab = await laptop.newPage();
      const mailProblems = watchForProblems(mailTab, gh.issuer);
      await mailTab.goto(linkIn(mail.text));
      await expect.poll(() => heading(mailTab)).toBe(t.verifyEmail.title);
      await screenshot(mailTab, `${lang}-verify-email`);
      await mailTab.getByRole('button', { name: t.verifyEmail.submit }).click();
      await expect.poll(() => heading(mailTab)).toBe(t.verifyEmail.doneTitle);
      await screenshot(mailTab, `${lang}-email-verified`);
      await mailTab.close();

      // Back in the first tab: Continue signs in; the application sees email_verified: true.
      await page.getByRole('button', { name: t.verifyPending.continue }).click();
      const tokens = await finishAtClient(page, flow, t.consent.allow);
      const sub = tokens.claims()!.sub;
      expect(await oauth.fetchUserInfo(config, tokens.access_token, sub)).toMatchObject({ sub, email, email_verified: true });
      expect(tokens.refresh_token).toBeTruthy();

      // On another device: "Forgot your password?".
      const other = await phone.newPage();
      const otherProblems = watchForProblems(other, gh.issuer);
      await startSignIn(other);
      await other.getByRole('link', { name: t.login.forgotPassword }).click();
      await expect.poll(() => heading(other)).toBe(t.forgotPassword.title);
      await screenshot(other, `${lang}-forgot-password`);
      await other.getByLabel(t.forgotPassword.email).fill(email);
      await other.getByRole('button', { name: t.forgotPassword.submit }).click();
      await expect.poll(() => heading(other)).toBe(t.forgotPassword.sentTitle);
      await screenshot(other, `${lang}-forgot-password-sent`);

      const reset = await smtp.nextMessageFor(email);
      expect(reset.subject).toContain(lang === 'en' ? 'Reset your password' : '비밀번호를 재설정하세요');
      await other.goto(linkIn(reset.text));
      await expect.poll(() => heading(other)).toBe(t.resetPassword.title);
      await other.getByLabel(t.resetPassword.password).fill('password1');
      await other.getByRole('button', { name: t.resetPassword.submit }).click();
      await expect.poll(() => other.getByRole('alert').textContent()).toBe(t.signup.problems.common_password);
      await screenshot(other, `${lang}-reset-password`);
      await other.getByLabel(t.resetPassword.password).fill(newPassword);
      await other.getByRole('button', { name: t.resetPassword.submit }).click();
      await expect.poll(() => heading(other)).toBe(t.resetPassword.doneTitle);
      await screenshot(other, `${lang}-password-changed`);

      // The old refresh token is refused, and the laptop's session is gone: a new sign-in asks for
      // the password again, and only the new one works.
      expect(await oauthError(oauth.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });
      const again = await startSignIn(page);
      await expect.poll(() => heading(page)).toBe(t.login.title);
      await page.getByLabel(t.login.email).fill(email);
      await page.getByLabel(t.login.password).fill(password);
      await page.getByRole('button', { name: t.login.submit }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(t.login.failed);
      await page.getByLabel(t.login.password).fill(newPassword);
      await page.getByRole('button', { name: t.login.submit }).click();
      const fresh = await finishAtClient(page, again, t.consent.allow);
      expect(fresh.claims()!.sub).toBe(sub);

      expect([...problems, ...mailProblems, ...otherProblems]).toEqual([]);
    } finally {
      await laptop.close();
      await phone.close();
    }
  });
});
