import type { Context, Middleware } from 'koa';
import { loginPage, type UpstreamOption } from '../../views/login.ts';
import { renderPage } from '../../views/render-page.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { ServerBusy } from '../errors/app-error.ts';
import { field } from '../http/read-form.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { SignInGate } from './sign-in-gate.ts';
import type { SignInOutcome, SignInOutcomes } from './sign-in-outcomes.ts';
import type { SignInAttempts } from './sign-in-throttle.ts';

export type LoginDeps = {
  accounts: AccountService;
  isSignupEnabled: boolean;
  /** Upstream identity providers shown as buttons (read per page: the CLI may add some). */
  listUpstreams?: () => Promise<UpstreamOption[]>;
};

export async function renderLogin(
  ctx: Context,
  ic: InteractionContext,
  deps: LoginDeps,
  details: Details,
  extra: { email?: string; error?: string; status?: number } = {},
): Promise<void> {
  const page = loginPage({
    ui: ic.ui(ctx, details),
    uid: details.uid,
    csrf: ic.formToken(details),
    clientName: await ic.clientName(details),
    email: extra.email,
    error: extra.error,
    signupHref: deps.isSignupEnabled ? `/interaction/${details.uid}/signup` : undefined,
    forgotPasswordHref: `/interaction/${details.uid}/forgot-password`,
    upstreams: await deps.listUpstreams?.(),
  });
  renderPage(ctx, page, extra.status);
}

/**
 * POST /interaction/:uid/login, after withInteraction. The attempt is counted before the
 * password is checked (sign-in-throttle.ts); what it came to is reported to the observers.
 */
export function loginHandler(ic: InteractionContext, deps: LoginDeps & { gate: SignInGate; attempts: SignInAttempts; outcomes: SignInOutcomes }): Middleware {
  return async (ctx) => {
    const details = ctx.state.interaction as Details;
    const form = ctx.state.form as URLSearchParams;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const email = field(form, 'email');
    const report = (outcome: Pick<SignInOutcome, 'result' | 'accountId' | 'reason'>) =>
      deps.outcomes.report({ form: 'login', email, ip: ctx.ip, clientId: String(details.params.client_id), ...outcome });
    const attempt = await deps.attempts.login(email, addressGroup(ctx.ip));
    if (!attempt.isAllowed) {
      ctx.set('Retry-After', String(attempt.retryAfterSeconds));
      report({ result: 'throttled' });
      return renderLogin(ctx, ic, deps, details, { email, error: ic.ui(ctx, details).t.login.throttled(attempt.retryAfterSeconds), status: 429 });
    }
    let account: Awaited<ReturnType<AccountService['authenticate']>>;
    try {
      account = await deps.accounts.authenticate(email, field(form, 'password'));
    } catch (err) {
      // Refused before any argon2 work, for a known and an unknown email alike: the form again,
      // 503 + Retry-After (RFC 9110 §15.6.4). No outcome: the attempt does not count.
      await attempt.unchecked();
      if (!(err instanceof ServerBusy)) throw err;
      ctx.set('Retry-After', String(err.retryAfterSeconds));
      return renderLogin(ctx, ic, deps, details, { email, error: ic.ui(ctx, details).t.login.busy, status: 503 });
    }
    if (!account) {
      report({ result: 'failure' }); // stays counted
      // One answer for an unknown email and a wrong password (no account enumeration).
      const { t } = ic.ui(ctx, details);
      return renderLogin(ctx, ic, deps, details, { email, error: t.login.failed, status: 401 });
    }
    // The right password for an account that may not sign in (disabled, unverified) stays counted too.
    const refusal = await deps.gate(ctx, details, account);
    if (refusal) return report({ result: 'refused', accountId: account.id, reason: refusal });
    await attempt.succeeded();
    report({ result: 'success', accountId: account.id });
    await ic.finish(ctx, { login: { accountId: account.id } });
  };
}
