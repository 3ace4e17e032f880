import type { Context, Middleware } from 'koa';
import { loginPage, type UpstreamOption } from '../../views/login.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { field } from '../http/read-form.ts';
import { renderPage } from '../http/render-page.ts';
import type { Details, InteractionContext } from './interaction-context.ts';

export type LoginDeps = {
  accounts: AccountService;
  isSignupEnabled: boolean;
  /** Upstream identity providers shown as buttons (read per page: the CLI may add some). */
  listUpstreams?: () => Promise<UpstreamOption[]>;
};

/** What a throttle wrapping the login handler learns after it ran (ctx.state.signInAttempt). */
export type SignInAttempt = { email: string; isSuccess: boolean };

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
    upstreams: await deps.listUpstreams?.(),
  });
  renderPage(ctx, page, extra.status);
}

/** POST /interaction/:uid/login, after withInteraction (and any guard, e.g. a throttle). */
export function loginHandler(ic: InteractionContext, deps: LoginDeps): Middleware {
  return async (ctx) => {
    const details = ctx.state.interaction as Details;
    const form = ctx.state.form as URLSearchParams;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const email = field(form, 'email');
    const account = await deps.accounts.authenticate(email, field(form, 'password'));
    ctx.state.signInAttempt = { email, isSuccess: Boolean(account) } satisfies SignInAttempt;
    if (!account) {
      // One answer for an unknown email and a wrong password (no account enumeration).
      const { t } = ic.ui(ctx, details);
      return renderLogin(ctx, ic, deps, details, { email, error: t.login.failed, status: 401 });
    }
    await ic.finish(ctx, { login: { accountId: account.id } });
  };
}
