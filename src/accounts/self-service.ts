import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { OneTimeTokenStore } from '../one-time-tokens/one-time-token-store.ts';
import type { SignOutEverywhere } from '../revocation/sign-out-everywhere.ts';
import type { AttemptThrottle, ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';
import type { UpstreamIdentityRepository } from '../upstreams/upstream-identity-repository.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import { type Account, type AccountService, normalizeEmail } from './account-service.ts';
import type { UserAdmin } from './user-admin.ts';

/** The answer to "is this your password?": yes, no, or not now (the sign-in throttle's wait). */
export type PasswordCheck = { kind: 'ok' } | { kind: 'wrong' } | { kind: 'throttled'; retryAfterSeconds: number };
/** A password change: made (a first one, or a new one), or the current password's refusal. */
export type PasswordChange = { kind: 'changed' | 'first_password' } | Exclude<PasswordCheck, { kind: 'ok' }>;

const ACTOR = (ip?: string): Actor => ({ via: 'account_page', ip });
/** An identifier from a form that may reach SQL: U+0000 would be a driver error (a 500), and nothing real is this long. */
const isPlausible = (value: string) => value.length > 0 && value.length <= 512 && !hasControlCharacters(value);

/**
 * What a signed-in person changes on their own account page (the HTTP layer checks the sign-in,
 * its age and the form's CSRF token first): the name, the password, upstream links and the
 * account itself. Every change is audited (`via: account_page`). The password asked again is
 * checked through the bounded hasher and counted by the sign-in throttle exactly as a sign-in
 * with it would be (per address and per IP), so the page is no way around either.
 */
export function createAccountSelfService(deps: {
  accounts: AccountService;
  identities: UpstreamIdentityRepository;
  users: Pick<UserAdmin, 'update' | 'delete'>;
  signOutEverywhere: Pick<SignOutEverywhere, 'account'>;
  tokens: Pick<OneTimeTokenStore, 'invalidate'>;
  audit: Pick<AuditLog, 'record'>;
  throttle?: { throttle: AttemptThrottle; account: ThrottlePolicy; ip: ThrottlePolicy };
}) {
  const checkPassword = async (account: Account, password: string, ip: string | undefined): Promise<PasswordCheck> => {
    const t = deps.throttle;
    // The sign-in form's keys: failures here and there add up (a sign-in success clears both).
    const accountKey: ThrottleKey | undefined = t && {
      scope: 'login:account',
      value: account.email ? normalizeEmail(account.email) : account.id,
      policy: t.account,
    };
    const ipKey: ThrottleKey | undefined = t && ip ? { scope: 'login:ip', value: ip, policy: t.ip } : undefined;
    const keys = [accountKey, ipKey].filter((k): k is ThrottleKey => k !== undefined);
    const attempt = t && (await t.throttle.take(keys));
    if (attempt && !attempt.isAllowed) return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    let isRight: boolean;
    try {
      isRight = await deps.accounts.verifyPassword(account.id, password);
    } catch (err) {
      if (attempt) await t!.throttle.giveBack(attempt); // not checked (ServerBusy): not counted
      throw err;
    }
    if (isRight && attempt) await Promise.all([t!.throttle.reset(accountKey!), t!.throttle.giveBack(attempt, ['login:ip'])]);
    return isRight ? { kind: 'ok' } : { kind: 'wrong' };
  };

  return {
    checkPassword,

    async rename(account: Account, name: string, ip?: string): Promise<void> {
      await deps.users.update({ id: account.id }, { name }, ACTOR(ip));
    },

    /**
     * A new password: with the current one (`current`), or a first one for an account made by an
     * upstream sign-in — only with a verified address, since a password signs in with the address.
     * Changing one signs the user out everywhere, as a reset does (a change is most often made
     * because the old one may be known): every session, grant and refresh token, and a cut-off for
     * the access tokens issued so far. A first password adds a way in and ends nothing.
     */
    async changePassword(account: Account, input: { current?: string; next: string }, ip?: string): Promise<PasswordChange> {
      const hadPassword = await deps.accounts.hasPassword(account.id);
      if (hadPassword) {
        const check = await checkPassword(account, input.current ?? '', ip);
        if (check.kind !== 'ok') return check;
      } else if (!account.email || !account.emailVerified) {
        throw new AppError('email_not_verified', 'a password needs a verified email address to sign in with', 409);
      }
      const hash = await deps.accounts.hashNewPassword(input.next); // the policy (AppError), the bounded hasher (ServerBusy)
      await deps.accounts.setPasswordHash(account.id, hash);
      await deps.tokens.invalidate('reset_password', account.id);
      if (hadPassword) await deps.signOutEverywhere.account(account.id, 'password_changed');
      await deps.audit.record({ type: 'password.changed', accountId: account.id, ip, details: { first_password: !hadPassword, via: 'account_page' } });
      return { kind: hadPassword ? 'changed' : 'first_password' };
    },

    /** Unlinks an upstream identity, unless it is the last way in (`isUsable`: upstreams still configured). */
    async unlink(account: Account, link: { upstreamId: string; subject: string }, isUsable: (upstreamId: string) => boolean, ip?: string) {
      if (!isPlausible(link.upstreamId) || !isPlausible(link.subject)) return 'not_found' as const;
      const outcome = await deps.identities.unlinkUnlessLast(account.id, link.upstreamId, link.subject, isUsable);
      if (outcome === 'unlinked') {
        await deps.audit.record({ type: 'upstream.identity_unlinked', accountId: account.id, ip, details: { upstream: link.upstreamId, via: 'account_page' } });
      }
      return outcome;
    },

    /**
     * Deletes the account (users.delete: sessions, grants, tokens revoked, identities, consents,
     * links; the audit trail keeps a pseudonymous record). An account with a password gives it again.
     */
    async delete(account: Account, password: string | undefined, ip?: string): Promise<PasswordCheck> {
      if (await deps.accounts.hasPassword(account.id)) {
        const check = await checkPassword(account, password ?? '', ip);
        if (check.kind !== 'ok') return check;
      }
      await deps.users.delete({ id: account.id }, ACTOR(ip));
      return { kind: 'ok' };
    },
  };
}

export type AccountSelfService = ReturnType<typeof createAccountSelfService>;
