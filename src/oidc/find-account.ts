import type { FindAccount } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';

/** oidc-provider's account seam; runs on code exchange and refresh, so it stays one PK lookup. */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findById(sub);
    if (!account) return undefined;
    return {
      accountId: account.id,
      async claims() {
        return {
          sub: account.id,
          email: account.email,
          // Gatehouse does not verify addresses yet; say so rather than vouch for them.
          email_verified: false,
          ...(account.name ? { name: account.name } : {}),
        };
      },
    };
  };
}
