import type { AccountService } from '../accounts/account-service.ts';
import type { UpstreamIdentityRepository } from './upstream-identity-repository.ts';

/** Who the upstream says signed in (after its tokens were checked). */
export type UpstreamProfile = { subject: string; email?: string; isEmailVerified: boolean; name?: string };

export type UpstreamOutcome =
  | { kind: 'signed_in'; accountId: string; isNewAccount: boolean; isNewLink: boolean }
  /** An account has this email, and the upstream does not vouch for it: no silent link. */
  | { kind: 'email_in_use' }
  /** A first sign-in without an email address: nothing to make an account with. */
  | { kind: 'no_email' };

/**
 * Linking rules. A known (upstream, subject) signs in to its account. Otherwise the email decides:
 * no account with it → a new account without a password; an account with it → linked only when
 * the upstream says the address is verified (OIDC `email_verified: true`), since anyone can put
 * any address on an upstream account; else refused (the owner signs in with their password).
 */
export function createUpstreamAccounts(deps: { accounts: AccountService; identities: UpstreamIdentityRepository }) {
  return {
    async resolve(upstreamId: string, p: UpstreamProfile): Promise<UpstreamOutcome> {
      const known = await deps.identities.findAccountId(upstreamId, p.subject);
      if (known) {
        await deps.identities.touch(upstreamId, p.subject, p.email);
        return { kind: 'signed_in', accountId: known, isNewAccount: false, isNewLink: false };
      }
      if (!p.email) return { kind: 'no_email' };
      const link = async (accountId: string, isNewAccount: boolean): Promise<UpstreamOutcome> => {
        const linked = await deps.identities.link({ upstreamId, subject: p.subject, accountId, email: p.email });
        return { kind: 'signed_in', accountId: linked, isNewAccount: isNewAccount && linked === accountId, isNewLink: true };
      };
      // Twice: a concurrent first sign-in may create the account between our look-up and insert.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const existing = await deps.accounts.findByEmail(p.email);
        if (existing) return p.isEmailVerified ? link(existing.id, false) : { kind: 'email_in_use' };
        const created = await deps.accounts.createPasswordlessAccount({ email: p.email, name: p.name });
        if (created) return link(created.id, true);
      }
      return { kind: 'email_in_use' };
    },
  };
}

export type UpstreamAccounts = ReturnType<typeof createUpstreamAccounts>;
