import type { AccountService } from '../accounts/account-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { RevocationList } from './revocation-list.ts';

export type SignOutResult = { accountId: string; deleted: number; tokensIssuedBefore: number };

/**
 * `users revoke-sessions`: ends every session, deletes every grant and refresh token of the
 * user, and revokes every access token already issued to them (a cut-off on their `sub`,
 * remembered as long as any such token could still be valid). Called with an email (the CLI and
 * the admin API), or as `.account(id, reason)` by what must end a user's sessions as a
 * consequence (a password reset, disabling or deleting the user); `reason` goes to the audit trail.
 */
export function createSignOutEverywhere(deps: {
  accounts: AccountService;
  purgeAccount: (accountId: string) => Promise<{ deleted: number }>;
  revocations: RevocationList;
  maxTokenTtlSeconds: () => Promise<number>;
  audit: AuditLog;
  /** Tells clients with a back-channel logout URI (read before the purge, sent after it). */
  backchannelLogout?: { prepare(accountId: string): Promise<{ send(): Promise<{ sent: number; failed: number }> }> };
}) {
  const signOutAccount = async (accountId: string, reason?: string): Promise<SignOutResult> => {
    const cutOff = async () => {
      const now = Math.floor(Date.now() / 1000);
      await deps.revocations.record({ type: 'subject', sub: accountId, iat_before: now, exp: now + (await deps.maxTokenTtlSeconds()) });
      return now;
    };
    // The cut-off first: from this moment on, nothing issued before it is accepted anywhere.
    await cutOff();
    const logout = await deps.backchannelLogout?.prepare(accountId);
    const { deleted } = await deps.purgeAccount(accountId);
    // And again once the purge is done: a refresh or code exchange that committed while it ran
    // (its token was not deleted yet) issued tokens after the first cut-off, and the purge's row
    // deletes revoke no grant. A later cut-off replaces the earlier one and covers more.
    const now = await cutOff();
    const notified = await logout?.send();
    await deps.audit.record({
      type: 'user.signed_out_everywhere',
      accountId,
      details: { deleted, ...(reason ? { reason } : {}), ...(notified ? { backchannel_logout: notified } : {}) },
    });
    return { accountId, deleted, tokensIssuedBefore: now };
  };
  const byEmail = async (email: string): Promise<SignOutResult> => {
    const account = await deps.accounts.findByEmail(email);
    if (!account) throw new AppError('not_found', `no user ${email}`, 404);
    return signOutAccount(account.id);
  };
  return Object.assign(byEmail, { account: signOutAccount });
}

export type SignOutEverywhere = ReturnType<typeof createSignOutEverywhere>;
