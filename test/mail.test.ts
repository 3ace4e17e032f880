import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT_PATHS } from '../src/http/log-redaction.ts';
import type { Locale } from '../src/i18n/locales.ts';
import { createAccountEmails, displayName } from '../src/mail/account-emails.ts';
import { createMailer, type MailerOptions, type MailOutcome } from '../src/mail/create-mailer.ts';
import { createOutboxTransport, outboxDirectory } from '../src/mail/outbox-transport.ts';
import { createSmtpTransport } from '../src/mail/smtp-transport.ts';
import { until } from './support/own-services.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';

const ISSUER = 'https://id.example.com';
const FROM = 'Gatehouse <no-reply@id.example.com>';
const emails = createAccountEmails({ issuer: ISSUER });
// A token as the store makes them (43 base64url characters); what must never reach a log.
const TOKEN = 'Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC10b2tlbg0';

/** A logger into memory, and the outcomes the mailer reported. */
function observed() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug', redact: LOG_REDACT_PATHS },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  );
  const outcomes: MailOutcome[] = [];
  return {
    logger,
    outcomes,
    onOutcome: (_kind: string, result: MailOutcome) => outcomes.push(result),
    raw: () => lines.join('\n'),
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const fastRetries: Partial<MailerOptions> = { retryBaseMs: 20, retryMaxMs: 100 };
const address = (label: string) => `${label}-${Math.random().toString(36).slice(2, 8)}@example.com`;

describe('mail over a real SMTP server', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(() => smtp?.stop());

  it.each([
    ['en', 'verify_email', 'Verify your email address', 'Verify email address', 'expires in 24 hours'],
    ['ko', 'verify_email', '이메일 주소를 확인해 주세요', '이메일 주소 확인', '24시간 후에 만료됩니다'],
    ['en', 'reset_password', 'Reset your password', 'Choose a new password', 'expires in 30 minutes'],
    ['ko', 'reset_password', '비밀번호를 재설정하세요', '새 비밀번호 정하기', '30분 후에 만료됩니다'],
  ] as const)('delivers the %s %s message with text and HTML parts and the link from ISSUER', async (locale, kind, subject, action, expiry) => {
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(smtp.url), from: FROM, logger: o.logger, onOutcome: o.onOutcome });
    const to = address(locale);
    const input = { to: { address: to, name: 'Ada' }, locale: locale as Locale, token: TOKEN };
    expect(mailer.send(kind === 'verify_email' ? emails.verifyEmail(input) : emails.resetPassword(input))).toBe(true);

    const mail = await smtp.nextMessageFor(to);
    const path = kind === 'verify_email' ? '/account/verify-email' : '/account/reset-password';
    const link = `${ISSUER}${path}?token=${TOKEN}`;
    expect(mail.authenticatedAs).toBe('gatehouse'); // the credentials in SMTP_URL were used
    expect(mail.from?.value).toEqual([{ address: 'no-reply@id.example.com', name: 'Gatehouse' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([{ address: to, name: 'Ada' }]);
    expect(mail.subject).toBe(`${subject} (Gatehouse)`);
    expect(mail.headers.get('content-language')).toBe(locale);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain(expiry);
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.html).toContain(`<html lang="${locale}">`);
    expect(mail.html).toContain(action);

    await mailer.close();
    expect(o.outcomes).toEqual(['sent']);
    expect(o.logs()).toEqual([expect.objectContaining({ msg: 'mail sent', kind, attempts: 1 })]);
    expect(o.raw()).not.toContain(TOKEN);
  });

  it('escapes a user-provided name in the HTML part and keeps it out of the headers', async () => {
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(smtp.url), from: FROM, logger: o.logger });
    const to = address('eve');
    mailer.send(emails.verifyEmail({ to: { address: to, name: '<img src=x onerror=alert(1)> & "Eve"' }, locale: 'en', token: TOKEN }));
    const mail = await smtp.nextMessageFor(to);
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('Hello &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Eve&quot;,');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([{ address: to, name: '<img src=x onerror=alert(1)> & "Eve"' }]);

    // A name that tries to add a header: no Bcc appears, and nobody else gets the message.
    const target = address('target');
    mailer.send(emails.verifyEmail({ to: { address: target, name: 'Eve\r\nBcc: victim@example.org' }, locale: 'en', token: TOKEN }));
    const second = await smtp.nextMessageFor(target);
    expect(second.envelopeTo).toEqual([target]);
    expect(second.bcc).toBeUndefined();
    expect(second.headers.has('bcc')).toBe(false);
    expect(second.text).not.toContain('Bcc');
    await mailer.close();
  });

  it('leaves out a name that looks like a link, and shortens a long one', () => {
    expect(displayName('Visit https://evil.example now')).toBeUndefined();
    expect(displayName('www.evil.example')).toBeUndefined();
    expect(displayName('Your bank: pay.example.com')).toBeUndefined();
    expect(displayName('  Ada \n\t Lovelace ')).toBe('Ada Lovelace');
    expect(displayName('김민준')).toBe('김민준');
    expect(displayName('x'.repeat(100))).toHaveLength(64);
    const message = emails.verifyEmail({ to: { address: 'a@example.com', name: 'https://evil.example' }, locale: 'en', token: TOKEN });
    expect(message.text.startsWith('Hello,\n')).toBe(true);
    expect(message.html).not.toContain('evil.example');
  });

  it('builds links from ISSUER only, whatever the recipient or name say', () => {
    const other = createAccountEmails({ issuer: 'https://login.example.org' });
    const m = other.resetPassword({ to: { address: 'a@attacker.example', name: 'Host: attacker.example' }, locale: 'ko', token: TOKEN });
    const links = [...m.text.matchAll(/https?:\/\/[^\s]+/g)].map((x) => x[0]);
    expect(links).toEqual([`https://login.example.org/account/reset-password?token=${TOKEN}`]);
  });

  it('retries while the SMTP server is down and delivers once it is back, without the link in any log', async () => {
    const down = await startTestSmtp();
    await down.stop(); // an outage: nothing listens on its port
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(down.url), from: FROM, logger: o.logger, onOutcome: o.onOutcome, ...fastRetries });
    const to = address('outage');
    expect(mailer.send(emails.resetPassword({ to: { address: to }, locale: 'en', token: TOKEN }))).toBe(true); // accepted at once: the caller never waits for SMTP

    await until('two failed attempts', () => o.outcomes.filter((r) => r === 'retried').length >= 2);
    expect(o.logs().find((l) => l.msg === 'mail not sent; will retry')).toMatchObject({
      kind: 'reset_password',
      code: 'ESOCKET',
      retryInMs: expect.any(Number),
    });
    await down.start();
    const mail = await down.nextMessageFor(to);
    expect(mail.text).toContain(TOKEN);

    await until('the delivery is logged', () => o.outcomes.includes('sent'));
    const sent = o.logs().find((l) => l.msg === 'mail sent')!;
    expect(sent.attempts).toBeGreaterThanOrEqual(3);
    expect(o.raw()).not.toContain(TOKEN);
    expect(o.raw()).not.toContain('smtp-p@ss/word');
    expect(o.raw()).not.toContain(encodeURIComponent('smtp-p@ss/word'));
    await mailer.close();
    await down.stop();
  });

  it('gives up at once when the server refuses the credentials (a permanent failure), logging no password', async () => {
    const o = observed();
    const wrong = smtp.url.replace(encodeURIComponent('smtp-p@ss/word'), 'not-the-password');
    const mailer = createMailer({ transport: createSmtpTransport(wrong), from: FROM, logger: o.logger, onOutcome: o.onOutcome, ...fastRetries });
    const refusedBefore = smtp.refusedLogins();
    mailer.send(emails.verifyEmail({ to: { address: address('auth') }, locale: 'en', token: TOKEN }));
    await until('giving up', () => o.outcomes.includes('failed'));
    expect(o.outcomes).toEqual(['failed']);
    expect(smtp.refusedLogins()).toBe(refusedBefore + 1);
    expect(o.logs().at(-1)).toMatchObject({ msg: 'mail not sent; giving up', code: 'EAUTH', why: 'refused by the server' });
    expect(o.raw()).not.toContain('not-the-password');
    await mailer.close();
  });

  it('stops retrying when the link in the message would be dead before the next attempt', async () => {
    const down = await startTestSmtp();
    await down.stop();
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(down.url), from: FROM, logger: o.logger, onOutcome: o.onOutcome, retryBaseMs: 60_000 });
    const message = emails.resetPassword({ to: { address: address('late') }, locale: 'en', token: TOKEN, ttlSeconds: 30 });
    mailer.send(message);
    await until('giving up', () => o.outcomes.includes('failed'));
    expect(o.logs().at(-1)).toMatchObject({ msg: 'mail not sent; giving up', why: 'its link expires first', attempts: 1 });
    await mailer.close();
  });

  it('bounds the queue: past maxQueued a message is dropped and counted, not thrown', async () => {
    const down = await startTestSmtp();
    await down.stop();
    const o = observed();
    const mailer = createMailer({
      transport: createSmtpTransport(down.url),
      from: FROM,
      logger: o.logger,
      onOutcome: o.onOutcome,
      maxQueued: 2,
      retryBaseMs: 60_000,
    });
    const m = () => emails.verifyEmail({ to: { address: address('q') }, locale: 'en', token: TOKEN });
    expect([mailer.send(m()), mailer.send(m()), mailer.send(m())]).toEqual([true, true, false]);
    expect(o.outcomes).toContain('dropped');
    expect(mailer.pending()).toBe(2);
    await mailer.close({ timeoutMs: 200 });
  });

  it('close() delivers what is queued before it returns', async () => {
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(smtp.url), from: FROM, logger: o.logger, onOutcome: o.onOutcome });
    const to = [address('drain'), address('drain')];
    for (const a of to) mailer.send(emails.verifyEmail({ to: { address: a }, locale: 'en', token: TOKEN }));
    await mailer.close();
    expect(o.outcomes).toEqual(['sent', 'sent']);
    for (const a of to) await smtp.nextMessageFor(a, 1000);
    expect(mailer.send(emails.verifyEmail({ to: { address: to[0]! }, locale: 'en', token: TOKEN }))).toBe(false); // closed
  });

  it('close() is bounded when SMTP is down: it gives up after the timeout and logs what was lost', async () => {
    const down = await startTestSmtp();
    await down.stop();
    const o = observed();
    const mailer = createMailer({ transport: createSmtpTransport(down.url), from: FROM, logger: o.logger, onOutcome: o.onOutcome, ...fastRetries });
    mailer.send(emails.resetPassword({ to: { address: address('lost') }, locale: 'en', token: TOKEN }));
    const started = Date.now();
    await mailer.close({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(o.outcomes.at(-1)).toBe('dropped');
    expect(o.logs().some((l) => l.msg === 'mail not sent: shutting down')).toBe(true);
    expect(mailer.pending()).toBe(0);
    expect(o.raw()).not.toContain(TOKEN);
  });
});

describe('mail without SMTP_URL: the outbox', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-outbox-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('writes an owner-only .eml under DATA_DIR/outbox/ and logs one line without the link', async () => {
    const o = observed();
    const dir = outboxDirectory(dataDir)!;
    expect(dir).toBe(join(dataDir, 'outbox'));
    const mailer = createMailer({ transport: createOutboxTransport(dir), from: FROM, logger: o.logger, onOutcome: o.onOutcome });
    mailer.send(emails.verifyEmail({ to: { address: 'ada@example.com', name: '에이다' }, locale: 'ko', token: TOKEN }));
    await mailer.idle();

    const files = await readdir(dir);
    expect(files).toEqual([expect.stringMatching(/-verify_email-[0-9a-f]{8}\.eml$/)]);
    const file = join(dir, files[0]!);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const mail = await simpleParser(await readFile(file));
    expect(mail.subject).toBe('이메일 주소를 확인해 주세요 (Gatehouse)');
    expect(mail.text).toContain(`${ISSUER}/account/verify-email?token=${TOKEN}`);
    expect(mail.html).toContain('에이다님, 안녕하세요.');

    expect(o.logs()).toEqual([
      expect.objectContaining({ msg: 'mail written to the outbox (no SMTP_URL)', to: 'ada@example.com', subject: mail.subject, file }),
    ]);
    expect(o.raw()).not.toContain(TOKEN);
    expect(o.outcomes).toEqual(['sent']);
    await mailer.close();
  });

  it('keeps nothing on disk for an in-memory DATA_DIR, and says so', async () => {
    expect(outboxDirectory('memory://')).toBeUndefined();
    const o = observed();
    const mailer = createMailer({ transport: createOutboxTransport(undefined), from: FROM, logger: o.logger });
    mailer.send(emails.resetPassword({ to: { address: 'ada@example.com' }, locale: 'en', token: TOKEN }));
    await mailer.idle();
    expect(o.logs()).toEqual([expect.objectContaining({ msg: 'mail not kept: no SMTP_URL and DATA_DIR is in memory' })]);
    expect(o.raw()).not.toContain(TOKEN);
    await mailer.close();
  });

  it('redacts SMTP_URL should the configuration ever be logged', () => {
    const o = observed();
    const mail = { smtpUrl: 'smtps://gatehouse:hunter2@smtp.example.com', from: FROM };
    o.logger.info({ config: { mail } }, 'config');
    o.logger.info({ mail }, 'mail settings');
    o.logger.info({ smtpUrl: mail.smtpUrl }, 'url');
    expect(o.raw()).not.toContain('hunter2');
  });
});
