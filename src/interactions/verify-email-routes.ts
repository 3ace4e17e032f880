import type Router from '@koa/router';
import type { Context } from 'koa';
import { renderPage } from '../../views/render-page.ts';
import { verifyPendingPage } from '../../views/verify-pending.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { PendingVerification } from './pending-verification.ts';
import type { SignInGate } from './sign-in-gate.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';

export type VerifyEmailRouteDeps = {
  accounts: AccountService;
  verification: EmailVerification;
  pending: PendingVerification;
  gate: SignInGate;
  /** The resend button: per account and per IP, the sign-in policies (each mail counts). */
  throttle?: SignInThrottle;
};

/**
 * /interaction/:uid/verify-email (EMAIL_VERIFICATION=required): the "check your inbox" stop.
 * GET shows it again (the language links), POST …/continue completes the sign-in once the address
 * is verified, POST …/resend mails a new link (older ones stop working). Without the sealed
 * pending cookie (sign-in-gate.ts) there is nothing to continue: back to the sign-in page.
 */
export function verifyEmailRoutes(router: Router, ic: InteractionContext, deps: VerifyEmailRouteDeps): void {
  const waiting = async (ctx: Context) => {
    const details = ctx.state.interaction as Details;
    const accountId = details.prompt.name === 'login' ? deps.pending.get(ctx, details.uid) : undefined;
    const account = accountId ? await deps.accounts.findById(accountId) : undefined;
    if (!account?.email) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${details.uid}`);
      return undefined;
    }
    return { details, account: account as typeof account & { email: string } };
  };
  const render = (ctx: Context, details: Details, email: string, extra: { notice?: string; error?: string; status?: number } = {}) => {
    const ui = ic.ui(ctx, details, '/verify-email');
    renderPage(ctx, verifyPendingPage({ ui, uid: details.uid, csrf: ic.formToken(details), email, notice: extra.notice, error: extra.error }), extra.status);
  };

  router.get('/verify-email', ic.withInteraction, async (ctx) => {
    const w = await waiting(ctx);
    if (w) render(ctx, w.details, w.account.email);
  });

  router.post('/verify-email/continue', ic.withInteraction, async (ctx) => {
    const w = await waiting(ctx);
    if (!w) return;
    // The gate again: disabled meanwhile, or still unverified (then the same page, saying so).
    if (w.account.disabledAt || !w.account.emailVerified) {
      if (w.account.disabledAt) await deps.gate(ctx, w.details, w.account);
      else render(ctx, w.details, w.account.email, { error: ic.ui(ctx, w.details).t.verifyPending.notYet, status: 403 });
      return;
    }
    deps.pending.clear(ctx, w.details.uid);
    await ic.finish(ctx, { login: { accountId: w.account.id } });
  });

  router.post('/verify-email/resend', ic.withInteraction, async (ctx) => {
    const w = await waiting(ctx);
    if (!w) return;
    const { t, locale } = ic.ui(ctx, w.details);
    if (deps.throttle) {
      const keys: ThrottleKey[] = [
        { scope: 'verify-resend:account', value: w.account.id, policy: deps.throttle.account },
        { scope: 'verify-resend:ip', value: addressGroup(ctx.ip), policy: deps.throttle.ip },
      ];
      const attempt = await deps.throttle.throttle.take(keys);
      if (!attempt.isAllowed) {
        ctx.set('Retry-After', String(attempt.retryAfterSeconds));
        return render(ctx, w.details, w.account.email, { error: t.login.throttled(attempt.retryAfterSeconds), status: 429 });
      }
    }
    await deps.verification.send(w.account, locale);
    render(ctx, w.details, w.account.email, { notice: t.verifyPending.resent(w.account.email) });
  });
}
