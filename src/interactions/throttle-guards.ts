import type { Context, Middleware } from 'koa';
import { errorPage } from '../../views/error.ts';
import { normalizeEmail } from '../accounts/account-service.ts';
import { field } from '../http/read-form.ts';
import { renderPage } from '../http/render-page.ts';
import type { AttemptThrottle, ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import { renderLogin, type LoginDeps, type SignInAttempt } from './login-routes.ts';

export type SignInThrottle = {
  throttle: AttemptThrottle;
  /** Failed sign-ins per email (known or not: the answer must not tell them apart). */
  account: ThrottlePolicy;
  /** Failed sign-ins, and every sign-up, per client IP: looser, since many users may share one. */
  ip: ThrottlePolicy;
};

const throttled = (ctx: Context, seconds: number) => {
  ctx.set('Retry-After', String(seconds));
  ctx.state.throttled = true;
};

/**
 * Before the password is even checked: an email or IP that must wait gets 429 with Retry-After,
 * so a blocked account cannot sign in with the right password either. After the handler: a
 * failure counts against both, a success clears the account's count.
 */
export function loginThrottleGuard(ic: InteractionContext, deps: LoginDeps, t: SignInThrottle): Middleware {
  return async (ctx, next) => {
    const email = field(ctx.state.form as URLSearchParams, 'email');
    const account: ThrottleKey = { scope: 'login:account', value: normalizeEmail(email), policy: t.account };
    const ip: ThrottleKey = { scope: 'login:ip', value: ctx.ip, policy: t.ip };
    const wait = await t.throttle.retryAfterSeconds([account, ip]);
    if (wait > 0) {
      const details = ctx.state.interaction as Details;
      throttled(ctx, wait);
      return renderLogin(ctx, ic, deps, details, { email, error: ic.ui(ctx, details).t.login.throttled(wait), status: 429 });
    }
    await next();
    const attempt = ctx.state.signInAttempt as SignInAttempt | undefined;
    if (!attempt) return;
    if (attempt.isSuccess) await t.throttle.reset(account);
    else await t.throttle.count([account, ip]);
  };
}

/** Sign-up: every attempt counts per IP (creating accounts in bulk is the abuse). */
export function signupThrottleGuard(ic: InteractionContext, t: SignInThrottle): Middleware {
  return async (ctx, next) => {
    const ip: ThrottleKey = { scope: 'signup:ip', value: ctx.ip, policy: t.ip };
    const wait = await t.throttle.retryAfterSeconds([ip]);
    if (wait > 0) {
      const details = ctx.state.interaction as Details;
      const ui = ic.ui(ctx, details, '/signup');
      throttled(ctx, wait);
      const link = { href: `/interaction/${details.uid}/signup`, text: ui.t.signup.title };
      return renderPage(ctx, errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.login.throttled(wait), code: 'too_many_attempts', link }), 429);
    }
    await t.throttle.count([ip]);
    await next();
  };
}
