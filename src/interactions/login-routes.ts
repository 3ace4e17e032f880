import type { Context, Middleware } from 'koa';
import { loginPage, type UpstreamOption } from '../../views/login.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { ServerBusy } from '../errors/app-error.ts';
import { field } from '../http/read-form.ts';
import { renderPage } from '../http/render-page.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { SignInGate, SignInRefusal } from './sign-in-gate.ts';

export type LoginDeps = {
  accounts: AccountService;
  isSignupEnabled: boolean;
  /** Upstream identity providers shown as buttons (read per page: the CLI may add some). */
  listUpstreams?: () => Promise<UpstreamOption[]>;
};

/**
 * What a throttle wrapping the login handler learns after it ran (ctx.state.signInAttempt). A
 * refused sign-in (right password, but disabled or unverified) is not a success: it stays counted.
 */
export type SignInAttempt = { email: string; isSuccess: boolean; refusal?: SignInRefusal };

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

/** POST /interaction/:uid/login, after withInteraction (and any guard, e.g. a throttle). */
export function loginHandler(ic: InteractionContext, deps: LoginDeps & { gate: SignInGate }): Middleware {
  return async (ctx) => {
    const details = ctx.state.interaction as Details;
    const form = ctx.state.form as URLSearchParams;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const email = field(form, 'email');
    let account: Awaited<ReturnType<AccountService['authenticate']>>;
    try {
      account = await deps.accounts.authenticate(email, field(form, 'password'));
    } catch (err) {
      // Refused before any argon2 work, for a known and an unknown email alike: the form again,
      // 503 + Retry-After (RFC 9110 §15.6.4). No outcome is recorded: the attempt does not count.
      if (!(err instanceof ServerBusy)) throw err;
      ctx.set('Retry-After', String(err.retryAfterSeconds));
      return renderLogin(ctx, ic, deps, details, { email, error: ic.ui(ctx, details).t.login.busy, status: 503 });
    }
    if (!account) {
      ctx.state.signInAttempt = { email, isSuccess: false } satisfies SignInAttempt;
      // One answer for an unknown email and a wrong password (no account enumeration).
      const { t } = ic.ui(ctx, details);
      return renderLogin(ctx, ic, deps, details, { email, error: t.login.failed, status: 401 });
    }
    const refusal = await deps.gate(ctx, details, account);
    ctx.state.signInAttempt = { email, isSuccess: !refusal, refusal } satisfies SignInAttempt;
    if (!refusal) await ic.finish(ctx, { login: { accountId: account.id } });
  };
}
