import type { SendMailOptions } from 'nodemailer';

/** Which message this is: a metric label and a log field, so the set stays small and fixed. */
export type MailKind = 'verify_email' | 'reset_password' | 'change_email' | 'email_changed';

/** One message, rendered: both parts are complete (the link is inside them). */
export type MailMessage = Readonly<{
  kind: MailKind;
  to: Readonly<{ address: string; name?: string | null }>;
  subject: string;
  text: string;
  html: string;
  /** BCP 47 tag of the message's language (Content-Language). */
  language?: string;
  /** The link inside is dead after this: no attempt is made later. */
  notAfter?: Date;
}>;

/** What a transport reports of a delivery, for the one log line the mailer writes. */
export type Delivery = { messageId?: string; outbox?: { file: string } | 'not kept' };

/** Where messages go: SMTP, or the outbox directory without SMTP_URL. */
export type MailTransport = {
  deliver(from: string, message: MailMessage, signal: AbortSignal): Promise<Delivery>;
  close(): Promise<void> | void;
};

/** The nodemailer message for ours: text and HTML parts, nothing read from files or URLs. */
export function toNodemailer(from: string, m: MailMessage): SendMailOptions {
  return {
    from,
    to: m.to.name ? { name: m.to.name, address: m.to.address } : m.to.address,
    subject: m.subject,
    text: m.text,
    html: m.html,
    headers: {
      // RFC 3834 §5: a message from a program; auto-responders should not answer it.
      'Auto-Submitted': 'auto-generated',
      ...(m.language ? { 'Content-Language': m.language } : {}),
    },
    // The content is ours, but nodemailer would otherwise follow `path`/`href` entries to local
    // files and URLs: nothing a message says may make the server read them.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
