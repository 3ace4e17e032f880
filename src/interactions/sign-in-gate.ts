import type { Context } from 'koa';
import { errorPage } from '../../views/error.ts';
import { renderPage } from '../../views/render-page.ts';
import { verifyPendingPage } from '../../views/verify-pending.ts';
import type { Account } from '../accounts/account-service.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { PendingVerification } from './pending-verification.ts';

/** Why a sign-in that proved who it is still does not complete. */
export type SignInRefusal = 'disabled' | 'unverified';

export type SignInGateDeps = {
  /** EMAIL_VERIFICATION=required. */
  isVerificationRequired: boolean;
  verification: EmailVerification;
  pending: PendingVerification;
};

/**
 * The last step of every sign-in (password, sign-up, upstream), after the user proved who they
 * are and before the interaction completes:
 * - a disabled account gets a clear 403 page (only someone who got the password, or the
 *   upstream, right ever sees it; a wrong password gets the usual answer);
 * - with EMAIL_VERIFICATION=required, an account without a verified address stops at "check
 *   your inbox" (the interaction does not complete, no session is made); `sendLink` mails a link
 *   first (a new account from an upstream that did not vouch for the address).
 * Returns the refusal it rendered, or undefined: go on.
 */
export function createSignInGate(ic: InteractionContext, deps: SignInGateDeps) {
  return async (ctx: Context, details: Details, account: Account, options: { sendLink?: boolean } = {}): Promise<SignInRefusal | undefined> => {
    if (account.disabledAt) {
      const ui = ic.ui(ctx, details);
      const link = { href: `/interaction/${details.uid}`, text: ui.t.upstream.backToSignIn };
      renderPage(ctx, errorPage({ ui, title: ui.t.accountDisabled.title, message: ui.t.accountDisabled.message, code: 'account_disabled', link }), 403);
      return 'disabled';
    }
    if (!deps.isVerificationRequired || account.emailVerified || !account.email) return undefined;
    const ui = ic.ui(ctx, details, '/verify-email');
    if (options.sendLink) await deps.verification.send(account, ui.locale);
    deps.pending.set(ctx, details.uid, account.id);
    renderPage(ctx, verifyPendingPage({ ui, uid: details.uid, csrf: ic.formToken(details), email: account.email }));
    return 'unverified';
  };
}

export type SignInGate = ReturnType<typeof createSignInGate>;
