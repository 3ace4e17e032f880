import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Delivery, MailMessage, MailTransport } from './mail-message.ts';
import { toNodemailer } from './mail-message.ts';

/**
 * Without SMTP_URL (trying Gatehouse, development) each message becomes an RFC 5322 `.eml` file
 * in `dir` (DATA_DIR/outbox/), which any mail program opens. The files hold live links, so the
 * directory is owner-only (0700) and each file 0600. With an in-memory DATA_DIR (`memory://`,
 * tests) there is no directory and the message is composed but not kept.
 */
export function createOutboxTransport(dir: string | undefined): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    async deliver(from: string, message: MailMessage): Promise<Delivery> {
      const info = await composer.sendMail(toNodemailer(from, message));
      if (!dir) return { messageId: info.messageId, outbox: 'not kept' };
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700); // it may have existed with wider permissions
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = join(dir, `${stamp}-${message.kind}-${randomUUID().slice(0, 8)}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' });
      return { messageId: info.messageId, outbox: { file } };
    },
    close: () => composer.close(),
  };
}

/** DATA_DIR/outbox, or none for an in-memory DATA_DIR. */
export const outboxDirectory = (dataDir: string): string | undefined => (dataDir.startsWith('memory://') ? undefined : join(dataDir, 'outbox'));
