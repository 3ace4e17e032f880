import type { FindAccount } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';

/** oidc-provider's account seam; runs on code exchange, refresh and userinfo, so it stays one PK lookup. */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findById(sub);
    // A disabled user is nobody to oidc-provider: code exchange, refresh and userinfo refuse
    // their tokens (invalid_grant / invalid_token), and an old session of theirs asks for a sign-in.
    if (!account || account.disabledAt) return undefined;
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
