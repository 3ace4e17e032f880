import type { AccountService } from '../accounts/account-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { RevocationList } from './revocation-list.ts';

/**
 * `users revoke-sessions`: ends every session, deletes every grant and refresh token of the
 * user, and revokes every access token already issued to them (a cut-off on their `sub`,
 * remembered as long as any such token could still be valid).
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
  return async (email: string): Promise<{ accountId: string; deleted: number; tokensIssuedBefore: number }> => {
    const account = await deps.accounts.findByEmail(email);
    if (!account) throw new AppError('not_found', `no user ${email}`, 404);
    const now = Math.floor(Date.now() / 1000);
    // The cut-off first: from this moment on, nothing issued before it is accepted anywhere.
    await deps.revocations.record({ type: 'subject', sub: account.id, iat_before: now, exp: now + (await deps.maxTokenTtlSeconds()) });
    const logout = await deps.backchannelLogout?.prepare(account.id);
    const { deleted } = await deps.purgeAccount(account.id);
    const notified = await logout?.send();
    await deps.audit.record({ type: 'user.signed_out_everywhere', accountId: account.id, details: { deleted, ...(notified ? { backchannel_logout: notified } : {}) } });
    return { accountId: account.id, deleted, tokensIssuedBefore: now };
  };
}
