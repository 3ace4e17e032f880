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
}) {
  return async (email: string): Promise<{ accountId: string; deleted: number; tokensIssuedBefore: number }> => {
    const account = await deps.accounts.findByEmail(email);
    if (!account) throw new AppError('not_found', `no user ${email}`, 404);
    const cutOff = async () => {
      const now = Math.floor(Date.now() / 1000);
      await deps.revocations.record({ type: 'subject', sub: account.id, iat_before: now, exp: now + (await deps.maxTokenTtlSeconds()) });
      return now;
    };
    // The cut-off first: from this moment on, nothing issued before it is accepted anywhere.
    await cutOff();
    const { deleted } = await deps.purgeAccount(account.id);
    // And again once the purge is done: a refresh or code exchange that committed while it ran
    // (its token was not deleted yet) issued tokens after the first cut-off, and the purge's row
    // deletes revoke no grant. A later cut-off replaces the earlier one and covers more.
    const now = await cutOff();
    await deps.audit.record({ type: 'user.signed_out_everywhere', accountId: account.id, details: { deleted } });
    return { accountId: account.id, deleted, tokensIssuedBefore: now };
  };
}
