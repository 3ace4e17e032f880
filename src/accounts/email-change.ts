import type { AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import { isLocale, type Locale } from '../i18n/locales.ts';
import type { AccountEmails } from '../mail/account-emails.ts';
import type { Mailer } from '../mail/create-mailer.ts';
import { ONE_TIME_TOKEN_TTL_SECONDS, type OneTimeToken, type OneTimeTokenStore } from '../one-time-tokens/one-time-token-store.ts';
import { type Account, type AccountService, isPlausibleEmail, normalizeEmail } from './account-service.ts';

export type EmailChangeOutcome =
  | { kind: 'changed'; accountId: string; email: string }
  /** Unknown, used, expired or replaced; or the account's address changed (or it was disabled) since it was asked for. */
  | { kind: 'invalid' }
  /** Another account holds the new address verified: it stays theirs. */
  | { kind: 'taken' };

/**
 * A new address from the account page. It takes effect only once proven: a single-use link
 * (24 h, only its digest stored) goes to the new address, and following it makes that the
 * account's address, verified, through claimVerifiedEmail — the one "someone proved this
 * address" operation, so accounts that had it unverified lose it, and one that holds it verified
 * keeps it (the change fails). Until then the old address stays, for signing in and for mail.
 * Once it took effect the old address is told (it may not have been its owner who asked), and
 * links mailed to it (verification, reset) stop working. A new request voids an older one.
 */
export function createEmailChange(deps: {
  accounts: AccountService;
  tokens: OneTimeTokenStore;
  emails: AccountEmails;
  mailer: Pick<Mailer, 'send'>;
  audit: Pick<AuditLog, 'record'>;
}) {
  /** The request behind a token, if the account still has the address it had when asking. */
  const requestOf = async (record: OneTimeToken | undefined) => {
    const email = record?.extra?.email;
    const from = record?.extra?.from ?? null;
    if (!record || typeof email !== 'string' || (from !== null && typeof from !== 'string')) return undefined;
    const account = await deps.accounts.findById(record.accountId);
    if (!account || account.disabledAt || account.email !== from) return undefined;
    const locale: Locale = isLocale(record.extra?.locale) ? record.extra.locale : 'en';
    return { account, email, from, locale };
  };

  return {
    /**
     * Mails the link to the new address. The answer is the same whether or not another account
     * uses the address (the page must not tell): that shows only to whoever follows the link.
     */
    async request(account: Account, newEmail: string, locale: Locale, ip?: string): Promise<{ email: string }> {
      const email = normalizeEmail(newEmail);
      if (!isPlausibleEmail(email)) throw new AppError('invalid_email', 'email address is not valid');
      if (email === account.email) throw new AppError('same_email', 'this is already the account’s address');
      const token = await deps.tokens.replace('change_email', account.id, ONE_TIME_TOKEN_TTL_SECONDS.change_email, { email, from: account.email, locale });
      deps.mailer.send(deps.emails.changeEmail({ to: { address: email, name: account.name }, locale, token }));
      await deps.audit.record({ type: 'account.email_change_requested', accountId: account.id, ip, details: { via: 'account_page' } });
      return { email };
    },

    /** The change waiting for its link, if any (the account page shows it). */
    async pending(account: Account): Promise<{ email: string } | undefined> {
      const found = await requestOf(await deps.tokens.latest('change_email', account.id));
      return found && found.account.id === account.id ? { email: found.email } : undefined;
    },

    /** The address a link would make the account's, without using it (a GET: mail scanners follow links). */
    async check(token: string): Promise<{ email: string } | undefined> {
      const found = await requestOf(await deps.tokens.find('change_email', token));
      return found && { email: found.email };
    },

    /** Uses the link (once: consume is atomic) and makes the new address the account's. */
    async confirm(token: string, ip?: string): Promise<EmailChangeOutcome> {
      const found = await requestOf(await deps.tokens.consume('change_email', token));
      if (!found) return { kind: 'invalid' };
      const { account, email, from, locale } = found;
      const claimed = await deps.accounts.claimVerifiedEmail({ email, accountId: account.id });
      if (!claimed) return { kind: 'taken' };
      // Links mailed to the old address are for it alone.
      await Promise.all((['verify_email', 'reset_password', 'change_email'] as const).map((p) => deps.tokens.invalidate(p, account.id)));
      if (from) deps.mailer.send(deps.emails.emailChanged({ to: { address: from, name: account.name }, locale, newEmail: email }));
      // No addresses in the trail: it outlives a deleted account, pseudonymously.
      await deps.audit.record({
        type: 'account.email_changed',
        accountId: account.id,
        ip,
        details: { via: 'account_page', old_was_verified: account.emailVerified },
      });
      return { kind: 'changed', accountId: account.id, email };
    },
  };
}

export type EmailChange = ReturnType<typeof createEmailChange>;
