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
          // OIDC Core §5.1: true only when the address was proven (an upstream said so); an
          // account that lost an unproven address to someone who proved it has none.
          ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
          ...(account.name ? { name: account.name } : {}),
        };
      },
    };
  };
}
