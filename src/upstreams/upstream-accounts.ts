import { type AccountService, normalizeEmail } from '../accounts/account-service.ts';
import type { UpstreamIdentityRepository } from './upstream-identity-repository.ts';

/** Who the upstream says signed in (after its tokens were checked). */
export type UpstreamProfile = { subject: string; email?: string; isEmailVerified: boolean; name?: string };

export type UpstreamOutcome =
  | { kind: 'signed_in'; accountId: string; isNewAccount: boolean; isNewLink: boolean }
  /** An account holds this email, and the upstream does not vouch for it: no link, no second account. */
  | { kind: 'email_in_use' }
  /** A first sign-in without an email address: nothing to make an account with. */
  | { kind: 'no_email' };

/**
 * Linking rules. An address nobody has proven never owns an account (pre-account takeover):
 * - a known (upstream, subject) signs in to its account; if the upstream now vouches for the
 *   account's own address, the address becomes verified there;
 * - a first sign-in whose upstream vouches for the address (OIDC `email_verified: true`) proves
 *   it: it links to the account holding it verified, or else gets an account of its own with it
 *   verified, and accounts that had it unverified (a password sign-up, an unverified upstream)
 *   lose it (claimVerifiedEmail) — never linked into, since anyone can type any address;
 * - a first sign-in whose upstream does not vouch (Naver never does) gets an account that keeps
 *   the address unverified, unless an account holds it (then refused: the owner signs in as before).
 */
export function createUpstreamAccounts(deps: { accounts: AccountService; identities: UpstreamIdentityRepository }) {
  return {
    async resolve(upstreamId: string, p: UpstreamProfile): Promise<UpstreamOutcome> {
      const known = await deps.identities.findAccountId(upstreamId, p.subject);
      if (known) {
        await deps.identities.touch(upstreamId, p.subject, p.email);
        if (p.email && p.isEmailVerified) await verifyOwnAddress(known, p.email);
        return { kind: 'signed_in', accountId: known, isNewAccount: false, isNewLink: false };
      }
      if (!p.email) return { kind: 'no_email' };
      const link = async (accountId: string, isNewAccount: boolean): Promise<UpstreamOutcome> => {
        const linked = await deps.identities.link({ upstreamId, subject: p.subject, accountId, email: p.email });
        return { kind: 'signed_in', accountId: linked, isNewAccount: isNewAccount && linked === accountId, isNewLink: true };
      };
      if (p.isEmailVerified) {
        const claimed = (await deps.accounts.claimVerifiedEmail({ email: p.email, name: p.name }))!;
        return link(claimed.account.id, claimed.isNew);
      }
      if (await deps.accounts.findByEmail(p.email)) return { kind: 'email_in_use' };
      return link((await deps.accounts.createUnverifiedAccount({ email: p.email, name: p.name })).id, true);
    },
  };

  /** The upstream this account signs in with vouches for the account's own (unverified) address. */
  async function verifyOwnAddress(accountId: string, email: string): Promise<void> {
    const account = await deps.accounts.findById(accountId);
    if (!account || account.emailVerified || account.email !== normalizeEmail(email)) return;
    await deps.accounts.claimVerifiedEmail({ email, accountId });
  }
}

export type UpstreamAccounts = ReturnType<typeof createUpstreamAccounts>;
