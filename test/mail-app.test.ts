import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/gatehouse-process.ts';
import { freePort } from './support/own-services.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { dropStorage, newStorage, type Storage, startTestGatehouse, TEST_SECRET, useTestGatehouse } from './support/test-gatehouse.ts';

const tokenIn = (text: string | undefined) => /[?&]token=([A-Za-z0-9_-]{43})/.exec(text ?? '')?.[1];

describe('the mailer and single-use links, as the server wires them', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  const gh = useTestGatehouse(() => ({ SMTP_URL: smtp.url, MAIL_FROM: 'Sign-in <login@id.example.com>' }));

  it('sends a verification link over SMTP whose token is consumed once, logged without the token, counted in /metrics', async () => {
    const { accounts, oneTimeTokens, accountEmails, mailer } = gh.services;
    const account = await accounts.registerAccount({ email: 'grace@example.com', password: 'a long passphrase for grace', name: 'Grace' });
    const token = await oneTimeTokens.replace('verify_email', account.id, 86_400, { email: account.email });
    expect(mailer.send(accountEmails.verifyEmail({ to: { address: account.email, name: account.name }, locale: 'en', token }))).toBe(true);

    const mail = await smtp.nextMessageFor('grace@example.com');
    expect(mail.from?.value).toEqual([{ address: 'login@id.example.com', name: 'Sign-in' }]);
    const link = new URL(/https?:\/\/\S+/.exec(mail.text ?? '')![0]);
    expect(link.origin).toBe(gh.issuer); // from ISSUER
    expect(link.pathname).toBe('/account/verify-email');
    expect(tokenIn(mail.html || undefined)).toBe(token);

    expect(await oneTimeTokens.consume('verify_email', tokenIn(mail.text)!)).toMatchObject({ accountId: account.id, extra: { email: 'grace@example.com' } });
    expect(await oneTimeTokens.consume('verify_email', token)).toBeUndefined();

    expect(gh.rawLogs()).not.toContain(token);
    expect(gh.rawLogs()).not.toContain('smtp-p@ss');
    const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_mail_messages_total\{kind="verify_email",result="sent"\} 1$/m);
  });
});

describe('without SMTP_URL', () => {
  let dataDir: string;
  let storage: Storage;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-mail-'));
    storage = newStorage({ dataDir });
  });
  afterAll(async () => {
    if (storage) await dropStorage(storage);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the message to DATA_DIR/outbox/ and one log line without the link; close() waits for it', async () => {
    const gh = await startTestGatehouse(storage);
    const { accounts, oneTimeTokens, accountEmails, mailer } = gh.services;
    const account = await accounts.registerAccount({ email: 'linus@example.com', password: 'a long passphrase for linus' });
    const token = await oneTimeTokens.replace('reset_password', account.id, 1800);
    mailer.send(accountEmails.resetPassword({ to: { address: account.email }, locale: 'ko', token }));
    await gh.stop(); // close() drains the queue

    const files = await readdir(join(dataDir, 'outbox'));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(await readFile(join(dataDir, 'outbox', files[0]!)));
    expect(tokenIn(mail.text)).toBe(token);
    expect(mail.subject).toBe('비밀번호를 재설정하세요 (Gatehouse)');
    const lines = gh.logs().filter((l) => String(l.msg).startsWith('mail '));
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'mail written to the outbox (no SMTP_URL)', to: 'linus@example.com', file: join(dataDir, 'outbox', files[0]!) }),
    ]);
    expect(gh.rawLogs()).not.toContain(token);
  });

  it('refuses to start in production, naming SMTP_URL in one line', async () => {
    const result = await runCli(['serve'], {
      NODE_ENV: 'production',
      GATEHOUSE_SECRET: TEST_SECRET,
      ISSUER: 'https://id.example.com',
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^gatehouse: [^\n]*SMTP_URL is required when NODE_ENV=production[^\n]*\n$/);
    expect(result.stdout).toBe('');
  });
});
