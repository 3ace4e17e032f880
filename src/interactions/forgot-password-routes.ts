import type Router from '@koa/router';
import type { Context } from 'koa';
import { forgotPasswordPage } from '../../views/forgot-password.ts';
import { noticePage } from '../../views/notice.ts';
import { renderPage } from '../../views/render-page.ts';
import { isPlausibleEmail, normalizeEmail } from '../accounts/account-service.ts';
import type { PasswordReset } from '../accounts/password-reset.ts';
import { field } from '../http/read-form.ts';
import { responseSent } from '../http/response-sent.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';

export type ForgotPasswordRouteDeps = { passwordReset: PasswordReset; throttle?: SignInThrottle };

/**
 * /interaction/:uid/forgot-password, linked from the sign-in page. Every well-formed address gets
 * the same page, status and timing: the lookup and the mail happen off the request path
 * (passwordReset.request). Requests are throttled like sign-ins, per address (known or not) and
 * per IP, and each one counts: a throttle that stopped counting for unknown addresses would tell
 * them apart. The language of the page is the language of the mail.
 */
export function forgotPasswordRoutes(router: Router, ic: InteractionContext, deps: ForgotPasswordRouteDeps): void {
  const render = (ctx: Context, details: Details, extra: { email?: string; error?: string; status?: number } = {}) => {
    const ui = ic.ui(ctx, details, '/forgot-password');
    renderPage(ctx, forgotPasswordPage({ ui, uid: details.uid, csrf: ic.formToken(details), email: extra.email, error: extra.error }), extra.status);
  };

  router.get('/forgot-password', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    render(ctx, details);
  });

  router.post('/forgot-password', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const typed = field(ctx.state.form as URLSearchParams, 'email');
    const email = normalizeEmail(typed);
    const ui = ic.ui(ctx, details);
    if (!isPlausibleEmail(email)) return render(ctx, details, { email: typed, error: ui.t.forgotPassword.invalidEmail, status: 400 });
    if (deps.throttle) {
      const keys: ThrottleKey[] = [
        { scope: 'reset:account', value: email, policy: deps.throttle.account },
        { scope: 'reset:ip', value: addressGroup(ctx.ip), policy: deps.throttle.ip },
      ];
      const attempt = await deps.throttle.throttle.take(keys);
      if (!attempt.isAllowed) {
        ctx.set('Retry-After', String(attempt.retryAfterSeconds));
        return render(ctx, details, { email: typed, error: ui.t.login.throttled(attempt.retryAfterSeconds), status: 429 });
      }
    }
    deps.passwordReset.request(email, ui.locale, ctx.ip, responseSent(ctx));
    const t = ic.ui(ctx, details, '/forgot-password').t.forgotPassword;
    const link = { href: `/interaction/${details.uid}`, text: t.backToSignIn };
    renderPage(ctx, noticePage({ ui: ic.ui(ctx, details, '/forgot-password'), title: t.sentTitle, message: t.sent(email), detail: t.notArrived, link }));
  });
}
