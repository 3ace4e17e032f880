import { html, type SafeHtml } from '../../views/html.ts';
import { type EmailMessages, emailEn } from '../i18n/email-messages-en.ts';
import { emailKo } from '../i18n/email-messages-ko.ts';
import type { Locale } from '../i18n/locales.ts';
import { MESSAGES } from '../i18n/messages.ts';
import { ONE_TIME_TOKEN_TTL_SECONDS } from '../one-time-tokens/one-time-token-store.ts';
import type { MailKind, MailMessage } from './mail-message.ts';

const EMAILS: Readonly<Record<Locale, EmailMessages>> = { en: emailEn, ko: emailKo };

/** Where each link leads (pages of the accounts flows); the token travels as `?token=`. */
export const LINK_PATHS: Readonly<Record<Exclude<MailKind, 'email_changed'>, string>> = Object.freeze({
  verify_email: '/account/verify-email',
  reset_password: '/account/reset-password',
  change_email: '/account/confirm-email',
});

export type Recipient = { address: string; name?: string | null };

/**
 * A display name as it may appear in a message. Anyone can sign up with someone else's address
 * and choose the name, so the name is text the victim reads in a mail from us: control
 * characters (CR/LF: fake paragraphs) become spaces, it is cut to 64 characters, and a name that
 * looks like a link or an address is left out rather than shown next to our real link.
 */
export function displayName(name: string | null | undefined): string | undefined {
  const clean = (name ?? '')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!clean || /:\/\/|www\.|@|\.[a-z]{2,}\b/i.test(clean)) return undefined;
  return clean.length > 64 ? `${clean.slice(0, 63)}…` : clean;
}

type Parts = { subject: string; intro: string; action: string; expiry: string; notYou: string };
/** A message with nothing to follow (a notice): no button, no link, no expiry. */
type NoticeParts = { subject: string; intro: string; notYou: string };
type LinkKind = keyof typeof LINK_PATHS;

/**
 * The messages the accounts flows send. Links are built from ISSUER alone, never from a
 * request's Host header (which a caller controls: a reset link to an attacker's host would hand
 * them the token). Both parts come from the same strings; the HTML part escapes every one.
 */
export function createAccountEmails(deps: { issuer: string }) {
  const linkFor = (kind: LinkKind, token: string) => `${deps.issuer}${LINK_PATHS[kind]}?token=${encodeURIComponent(token)}`;

  const compose = (kind: MailKind, locale: Locale, to: Recipient, p: Parts | NoticeParts, link?: string, ttlSeconds?: number): MailMessage => {
    const t = EMAILS[locale];
    const name = displayName(to.name);
    const siteName = MESSAGES[locale].siteName;
    const withLink = link && 'action' in p ? ['', link, '', p.expiry] : [];
    const text = [t.greeting(name), '', p.intro, ...withLink, '', p.notYou, '', '-- ', `${siteName}: ${t.signature}`, ''].join('\n');
    return {
      kind,
      to: { address: to.address, name },
      subject: `${p.subject} (${siteName})`,
      text,
      html: page({ locale, siteName, subject: p.subject, greeting: t.greeting(name), parts: p, link, fallback: t.buttonFallback, signature: t.signature })
        .value,
      language: locale,
      ...(ttlSeconds ? { notAfter: new Date(Date.now() + ttlSeconds * 1000) } : {}),
    };
  };
  const render = (kind: LinkKind, locale: Locale, to: Recipient, token: string, ttlSeconds: number, parts: (t: EmailMessages) => Parts): MailMessage =>
    compose(kind, locale, to, parts(EMAILS[locale]), linkFor(kind, token), ttlSeconds);

  return {
    /** "Verify your email address": the link proves the address (single use, 24 h). */
    verifyEmail(input: { to: Recipient; locale: Locale; token: string; ttlSeconds?: number }): MailMessage {
      const ttl = input.ttlSeconds ?? ONE_TIME_TOKEN_TTL_SECONDS.verify_email;
      return render('verify_email', input.locale, input.to, input.token, ttl, (t) => ({
        ...t.verifyEmail,
        intro: t.verifyEmail.intro(input.to.address),
        expiry: t.verifyEmail.expiry(Math.round(ttl / 60)),
      }));
    },
    /** "Reset your password": the link lets its holder choose a new password (single use, 30 min). */
    resetPassword(input: { to: Recipient; locale: Locale; token: string; ttlSeconds?: number }): MailMessage {
      const ttl = input.ttlSeconds ?? ONE_TIME_TOKEN_TTL_SECONDS.reset_password;
      return render('reset_password', input.locale, input.to, input.token, ttl, (t) => ({
        ...t.resetPassword,
        intro: t.resetPassword.intro(input.to.address),
        expiry: t.resetPassword.expiry(Math.round(ttl / 60)),
      }));
    },
    /** "Confirm your new email address" (the account page): the link proves the new address, and only then is it the account's. */
    changeEmail(input: { to: Recipient; locale: Locale; token: string; ttlSeconds?: number }): MailMessage {
      const ttl = input.ttlSeconds ?? ONE_TIME_TOKEN_TTL_SECONDS.change_email;
      return render('change_email', input.locale, input.to, input.token, ttl, (t) => ({
        ...t.changeEmail,
        intro: t.changeEmail.intro(input.to.address),
        expiry: t.changeEmail.expiry(Math.round(ttl / 60)),
      }));
    },
    /** To the old address, once the new one took effect: the owner learns of a change they may not have made. */
    emailChanged(input: { to: Recipient; locale: Locale; newEmail: string }): MailMessage {
      const t = EMAILS[input.locale].emailChanged;
      return compose('email_changed', input.locale, input.to, { ...t, intro: t.intro(input.to.address, input.newEmail) });
    },
  };
}

export type AccountEmails = ReturnType<typeof createAccountEmails>;

/** A plain, table-based layout with inline styles: what mail clients render consistently. */
function page(v: {
  locale: Locale;
  siteName: string;
  subject: string;
  greeting: string;
  parts: Parts | NoticeParts;
  link?: string;
  fallback: string;
  signature: string;
}): SafeHtml {
  const p = v.parts;
  const para = 'margin:0 0 16px;font-size:15px;line-height:1.5';
  const muted = 'margin:0 0 16px;font-size:13px;line-height:1.5;color:#555555';
  return html`<!doctype html>
<html lang="${v.locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${v.subject}</title></head>
<body style="margin:0;padding:0;background:#f4f4f5;color:#18181b;font-family:-apple-system,'Segoe UI',Roboto,'Apple SD Gothic Neo','Malgun Gothic',sans-serif">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f5;padding:24px 12px"><tr><td align="center">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:480px;background:#ffffff;border-radius:8px;padding:32px"><tr><td>
<p style="margin:0 0 24px;font-size:18px;font-weight:600">${v.siteName}</p>
<p style="${para}">${v.greeting}</p>
<p style="${para}">${p.intro}</p>
${
  v.link && 'action' in p
    ? html`<p style="margin:24px 0"><a href="${v.link}" style="display:inline-block;background:#1d4ed8;color:#ffffff;padding:12px 20px;border-radius:6px;font-size:15px;font-weight:600;text-decoration:none">${p.action}</a></p>
<p style="${para}">${p.expiry}</p>`
    : ''
}
<p style="${muted}">${p.notYou}</p>
${v.link ? html`<p style="${muted}">${v.fallback}<br><a href="${v.link}" style="color:#1d4ed8;word-break:break-all">${v.link}</a></p>` : ''}
<p style="margin:24px 0 0;font-size:12px;color:#71717a">${v.signature}</p>
</td></tr></table>
</td></tr></table>
</body>
</html>
`;
}
