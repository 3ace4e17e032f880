import type { Actor, AuditLog } from '../audit/audit-log.ts';
import type { BackgroundTasks } from '../background/background-tasks.ts';
import type { Locale } from '../i18n/locales.ts';
import type { AccountEmails } from '../mail/account-emails.ts';
import type { Mailer } from '../mail/create-mailer.ts';
import { ONE_TIME_TOKEN_TTL_SECONDS, type OneTimeToken, type OneTimeTokenStore } from '../one-time-tokens/one-time-token-store.ts';
import type { SignOutEverywhere } from '../revocation/sign-out-everywhere.ts';
import { type Account, type AccountService, isPlausibleEmail, normalizeEmail } from './account-service.ts';

export type ResetOutcome = { kind: 'reset'; accountId: string } | { kind: 'invalid' };

/**
 * "Forgot password?": a single-use link (30 min, only its digest stored) to the address's holder.
 *
 * - `request` answers the same for every address, known or not, and at the same speed: it only
 *   queues the work (lookup, token, mail) off the request path (BackgroundTasks), so neither the
 *   page nor its timing says whether the address has an account.
 * - A new link voids the older ones (replace); a completed reset voids them all (invalidate).
 * - Completing it applies the password policy, stores the new hash, proves the address (the link
 *   was mailed there: claimVerifiedEmail), and signs the user out everywhere — other sessions,
 *   grants, refresh tokens, and a cut-off that revokes every access token issued so far.
 * - An account without a password (made by an upstream sign-in) gets its first one this way.
 */
export function createPasswordReset(deps: {
  accounts: AccountService;
  tokens: OneTimeTokenStore;
  emails: AccountEmails;
  mailer: Pick<Mailer, 'send'>;
  audit: Pick<AuditLog, 'record'>;
  signOutEverywhere: Pick<SignOutEverywhere, 'account'>;
  tasks: Pick<BackgroundTasks, 'run'>;
}) {
  const mailLink = async (account: Account & { email: string }, locale: Locale) => {
    const token = await deps.tokens.replace('reset_password', account.id, ONE_TIME_TOKEN_TTL_SECONDS.reset_password, { email: account.email });
    deps.mailer.send(deps.emails.resetPassword({ to: { address: account.email, name: account.name }, locale, token }));
  };

  /** The token's account, if it still has the address the link was sent to and may sign in. */
  const accountFor = async (record: OneTimeToken | undefined): Promise<Account | undefined> => {
    const email = record?.extra?.email;
    if (!record || typeof email !== 'string') return undefined;
    const account = await deps.accounts.findById(record.accountId);
    return account && !account.disabledAt && account.email === email ? account : undefined;
  };

  return {
    /**
     * Queues the lookup and the mail, to start once `after` settles (the answer sent: even the
     * lookup's time must not fall on the answer); returns at once, whatever the address.
     */
    request(emailInput: string, locale: Locale, ip?: string, after?: Promise<void>): void {
      const email = normalizeEmail(emailInput);
      deps.tasks.run(
        'password_reset_request',
        async () => {
          const account = isPlausibleEmail(email) ? await deps.accounts.findByEmail(email) : undefined;
          // A disabled user gets no link (they could not sign in with it); the page said the same.
          const isSent = Boolean(account?.email && !account.disabledAt);
          if (isSent) await mailLink(account as Account & { email: string }, locale);
          await deps.audit.record({
            type: 'password.reset_requested',
            accountId: account?.id,
            ip,
            // Unknown: only the domain, as for failed sign-ins (the address may be a typo, or someone else's).
            details: { is_sent: isSent, ...(account ? {} : { email_domain: email.split('@')[1]?.slice(0, 253) }) },
          });
        },
        after,
      );
    },

    /** An operator sends the link (`users send-reset`): at once, and an error when there is no address to send to. */
    async sendByOperator(account: Account, locale: Locale, actor: Actor): Promise<boolean> {
      if (!account.email || account.disabledAt) return false;
      await mailLink(account as Account & { email: string }, locale);
      await deps.audit.record({
        type: 'password.reset_requested',
        accountId: account.id,
        ip: actor.ip,
        details: { is_sent: true, via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) },
      });
      return true;
    },

    /** Whether the link is good, without using it (a GET shows the form: mail scanners follow links). */
    async check(token: string): Promise<{ email: string } | undefined> {
      const account = await accountFor(await deps.tokens.find('reset_password', token));
      return account?.email ? { email: account.email } : undefined;
    },

    /**
     * Sets the new password. The policy (AppError) and the hashing (ServerBusy) come before the
     * link is used up, so a refused password leaves it working; then the link is consumed (once,
     * atomically) and everything else follows.
     */
    async complete(token: string, password: string, ip?: string): Promise<ResetOutcome> {
      if (!(await accountFor(await deps.tokens.find('reset_password', token)))) return { kind: 'invalid' };
      const hash = await deps.accounts.hashNewPassword(password);
      const account = await accountFor(await deps.tokens.consume('reset_password', token));
      if (!account) return { kind: 'invalid' }; // used meanwhile (a double submit), or the account changed
      const hadPassword = await deps.accounts.hasPassword(account.id);
      await deps.accounts.setPasswordHash(account.id, hash);
      await deps.tokens.invalidate('reset_password', account.id);
      // The link reached the address: that proves it, as a verification link would.
      if (!account.emailVerified) await deps.accounts.claimVerifiedEmail({ email: account.email!, accountId: account.id });
      await deps.signOutEverywhere.account(account.id, 'password_reset');
      await deps.audit.record({ type: 'password.reset', accountId: account.id, ip, details: { first_password: !hadPassword } });
      return { kind: 'reset', accountId: account.id };
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
