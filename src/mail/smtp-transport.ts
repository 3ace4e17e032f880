import nodemailer from 'nodemailer';
import type { Delivery, MailMessage, MailTransport } from './mail-message.ts';
import { toNodemailer } from './mail-message.ts';

/** A failed SMTP attempt, as much as may be logged: codes and the server's reply, never credentials or content. */
export class MailSendError extends Error {
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  readonly command: string | undefined;
  /** The server refused the message for good (RFC 5321 §4.2.1: a 5yz reply, 503 aside) or the credentials were refused. */
  readonly isPermanent: boolean;
  constructor(message: string, details: { code?: string; responseCode?: number; command?: string; isPermanent: boolean }) {
    super(message);
    this.name = 'MailSendError';
    this.code = details.code;
    this.responseCode = details.responseCode;
    this.command = details.command;
    this.isPermanent = details.isPermanent;
  }
}

// Bounded waits, so one stuck server cannot hold a queue slot (or shutdown) for nodemailer's
// defaults of 2 minutes to connect and 10 minutes of silence.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };

/**
 * SMTP with the credentials of the URL (nodemailer parses and URL-decodes them; query options
 * such as `?pool=true` or `tls.servername=…` pass through). One connection per message unless the
 * URL asks for a pool: these messages are few, and a fresh connection sees a server come back.
 */
export function createSmtpTransport(smtpUrl: string): MailTransport {
  const transporter = nodemailer.createTransport({ url: smtpUrl, ...TIMEOUTS, logger: false, debug: false });
  const url = new URL(smtpUrl);
  const secrets = [url.password, decodeURIComponent(url.password), url.username, decodeURIComponent(url.username)].filter((s) => s.length >= 3);
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);

  return {
    async deliver(from: string, message: MailMessage, signal: AbortSignal): Promise<Delivery> {
      try {
        const info = await transporter.sendMail({ ...toNodemailer(from, message), signal });
        return { messageId: info.messageId };
      } catch (err) {
        const e = err as { message?: string; code?: string; responseCode?: number; command?: string; permanent?: boolean };
        throw new MailSendError(scrub(String(e.message ?? err)).slice(0, 300), {
          code: e.code,
          responseCode: e.responseCode,
          command: e.command,
          isPermanent: e.permanent === true || e.code === 'EAUTH' || e.code === 'ENOAUTH',
        });
      }
    },
    close: () => transporter.close(),
  };
}
