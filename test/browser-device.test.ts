import { existsSync } from 'node:fs';
import * as oauth from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Locale, MESSAGES } from '../src/i18n/messages.ts';
import { createScreenshotter, desktopViewport, launchChromium, watchForProblems } from './support/browser.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const screenshot = createScreenshotter();
const API = 'https://api.device-browser.test';

// The device pages in a real browser: no script, the strict CSP, both languages.
describe.runIf(existsSync('/usr/bin/chromium'))('the device pages in Chromium', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let gh: TestGatehouse;
  let browser: Browser;
  let config: oauth.Configuration;

  beforeAll(async () => {
    [gh, browser] = await Promise.all([startTestGatehouse(storage, { DEVICE_FLOW: 'true' }), launchChromium()]);
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const { client } = await gh.services.clients.registerClient({
      name: 'Terminal Tool',
      grantTypes: ['device_code'],
      tokenEndpointAuthMethod: 'none',
      scope: 'openid read',
      resources: [API],
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] });
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await dropStorage(storage);
  });

  it.each([
    ['en', 'en-US'],
    ['ko', 'ko-KR'],
  ] as [Locale, string][])('connects a device from its link: code, confirmation, sign-in, consent, done, in %s', async (lang, browserLocale) => {
    const t = MESSAGES[lang];
    const email = `device-${lang}@example.test`;
    const password = `${lang} device passphrase 2026`;
    await gh.services.accounts.registerAccount({ email, password });
    const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid read', resource: API });
    const context = await browser.newContext({ locale: browserLocale, viewport: desktopViewport });
    const page = await context.newPage();
    const problems = watchForProblems(page, gh.issuer);
    try {
      await page.goto(response.verification_uri_complete!);
      await expect.poll(() => page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.inputValue('#user_code')).toBe(response.user_code);
      await screenshot(page, `${lang}-device-code`);
      await page.getByRole('button', { name: t.device.continue }).click();

      await expect.poll(() => page.locator('.user-code code').textContent()).toBe(response.user_code);
      await screenshot(page, `${lang}-device-confirm`);
      await page.getByRole('button', { name: t.device.confirm, exact: true }).click();

      await page.fill('#email', email);
      await page.fill('#password', password);
      await page.getByRole('button', { name: t.login.submit }).click();
      await page.getByRole('button', { name: t.consent.allow }).click();

      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(t.device.doneHeading);
      await screenshot(page, `${lang}-device-done`);
      const tokens = await oauth.pollDeviceAuthorizationGrant(config, { ...response, interval: 0.05 });
      expect(tokens.access_token.split('.')).toHaveLength(3);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
