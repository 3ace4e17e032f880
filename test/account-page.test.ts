import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountPage } from './support/account-page.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

describe('the account page', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let smtp: TestSmtp;
  let gh: TestGatehouse;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    gh = await startTestGatehouse(storage, { SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await gh?.stop();
    await smtp?.stop();
    await dropStorage(storage);
  });

  it('signs in through /auth and shows the page', async () => {
    const user = { email: 'page@example.test', password: 'a page passphrase 2026' };
    await gh.services.accounts.registerAccount(user);
    const page = await openAccountPage(gh, user).catch((e) => { console.log(gh.logs().filter((l) => Number(l.level) >= 50).map((l) => JSON.stringify(l).slice(0, 1500))); throw e; });
    console.log(page.body);
  });
});
