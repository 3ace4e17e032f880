import type { AuditLog } from '../audit/audit-log.ts';
import type { Locale } from '../i18n/locales.ts';
import type { AccountEmails } from '../mail/account-emails.ts';
import type { Mailer } from '../mail/create-mailer.ts';
import { ONE_TIME_TOKEN_TTL_SECONDS, type OneTimeToken, type OneTimeTokenStore } from '../one-time-tokens/one-time-token-store.ts';
import type { Account, AccountService } from './account-service.ts';

export type VerificationOutcome =
  | { kind: 'verified'; accountId: string; email: string }
  /** Unknown, used, expired or replaced; or the account changed its address (or was disabled) since. */
  | { kind: 'invalid' }
  /** Another account proved this address first: it is theirs (claimVerifiedEmail). */
  | { kind: 'taken' };

/**
 * "Verify your email address": a single-use link (24 h, only its digest stored) mailed to the
 * account's address. The token records which address it was sent to, so a link for an address
 * the account no longer has never verifies the new one. Following it proves the address through
 * claimVerifiedEmail (the one "someone proved this address" operation): the account gets it
 * verified, and accounts that had it unverified lose it.
 */
export function createEmailVerification(deps: {
  accounts: AccountService;
  tokens: OneTimeTokenStore;
  emails: AccountEmails;
  mailer: Pick<Mailer, 'send'>;
  audit: Pick<AuditLog, 'record'>;
}) {
  /** The token's account, if it still has the address the link was sent to and may use it. */
  const accountFor = async (record: OneTimeToken | undefined): Promise<{ account: Account; email: string } | undefined> => {
    const email = record?.extra?.email;
    if (!record || typeof email !== 'string') return undefined;
    const account = await deps.accounts.findById(record.accountId);
    if (!account || account.disabledAt || account.email !== email) return undefined;
    return { account, email };
  };

  return {
    /**
     * Mails a new link to the account's address; older links stop working (replace). False when
     * there is nothing to verify (no address, already verified, disabled): nothing is sent.
     */
    async send(account: Account, locale: Locale): Promise<boolean> {
      if (!account.email || account.emailVerified || account.disabledAt) return false;
      const token = await deps.tokens.replace('verify_email', account.id, ONE_TIME_TOKEN_TTL_SECONDS.verify_email, { email: account.email });
      deps.mailer.send(deps.emails.verifyEmail({ to: { address: account.email, name: account.name }, locale, token }));
      await deps.audit.record({ type: 'account.verification_sent', accountId: account.id });
      return true;
    },

    /** The address a link would verify, without using it (the page a GET shows: mail scanners follow links). */
    async check(token: string): Promise<{ email: string } | undefined> {
      const found = await accountFor(await deps.tokens.find('verify_email', token));
      return found && { email: found.email };
    },

    /** Uses the link (once: consume is atomic) and proves the address. */
    async confirm(token: string, ip?: string): Promise<VerificationOutcome> {
      const found = await accountFor(await deps.tokens.consume('verify_email', token));
      if (!found) return { kind: 'invalid' };
      const { account, email } = found;
      if (!account.emailVerified) {
        const claimed = await deps.accounts.claimVerifiedEmail({ email, accountId: account.id });
        if (!claimed) return { kind: 'taken' };
      }
      await deps.tokens.invalidate('verify_email', account.id);
      await deps.audit.record({ type: 'account.verified', accountId: account.id, ip, details: { via: 'email_link' } });
      return { kind: 'verified', accountId: account.id, email };
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
