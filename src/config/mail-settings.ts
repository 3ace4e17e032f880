import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';

// ---- Email (SMTP_URL, MAIL_FROM) ----
// Credentials travel inside SMTP_URL, so no message here ever repeats a value.
const smtpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an smtp:// or smtps:// URL with a host (credentials as smtp://user:password@host:port)');

/** One mailbox (`Name <a@b>` or `a@b`), as nodemailer will read it; CR/LF would inject headers. */
function isMailbox(value: string): boolean {
  if (/[\r\n]/.test(value)) return false;
  const parsed = addressparser(value);
  return parsed.length === 1 && typeof parsed[0]!.address === 'string' && /^[^\s@<>]+@[^\s@<>]+$/.test(parsed[0]!.address);
}

export const mailKeys = {
  // Unset: mail is written to the log and to DATA_DIR/outbox/ (refused in production).
  SMTP_URL: smtpUrl.optional(),
  // Unset: `Gatehouse <no-reply@ISSUER's host>`.
  MAIL_FROM: z
    .string()
    .refine((v) => v.length <= 320 && isMailbox(v), 'must be one address of at most 320 characters, like "Gatehouse <no-reply@example.com>"')
    .optional(),
};

export function refineMail(env: { NODE_ENV: string; SMTP_URL?: string }, ctx: z.RefinementCtx): void {
  if (env.NODE_ENV === 'production' && !env.SMTP_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['SMTP_URL'],
      message: 'is required when NODE_ENV=production (without it mail only goes to the log and DATA_DIR/outbox/)',
    });
  }
}

export function mailFromEnv(e: { ISSUER?: string; SMTP_URL?: string; MAIL_FROM?: string }): MailSettings {
  const host = e.ISSUER ? new URL(e.ISSUER).hostname : 'localhost'; // the default issuer is http://localhost:PORT
  return Object.freeze({ smtpUrl: e.SMTP_URL, from: e.MAIL_FROM ?? `Gatehouse <no-reply@${host}>` });
}

export type MailSettings = Readonly<{
  /** Secret: carries the SMTP credentials. Undefined = the outbox (log + DATA_DIR/outbox/). */
  smtpUrl: string | undefined;
  from: string;
}>;
