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
 * Before the password is even checked, the attempt is counted and decided in one step per key
 * (email and IP): past the allowance it gets 429 with Retry-After, the same page for a known and
 * an unknown email, so a blocked account cannot sign in with the right password either. After the
 * handler: a failure stays counted; a success clears the email's count and does not count for the
 * IP; an attempt that was not checked after all (the server too busy, not a sign-in step) is given back.
 */
export function loginThrottleGuard(ic: InteractionContext, deps: LoginDeps, t: SignInThrottle): Middleware {
  return async (ctx, next) => {
    const email = field(ctx.state.form as URLSearchParams, 'email');
    const account: ThrottleKey = { scope: 'login:account', value: normalizeEmail(email), policy: t.account };
    const ip: ThrottleKey = { scope: 'login:ip', value: ctx.ip, policy: t.ip };
    const attempt = await t.throttle.take([account, ip]);
    if (!attempt.isAllowed) {
      const details = ctx.state.interaction as Details;
      throttled(ctx, attempt.retryAfterSeconds);
      return renderLogin(ctx, ic, deps, details, { email, error: ic.ui(ctx, details).t.login.throttled(attempt.retryAfterSeconds), status: 429 });
    }
    try {
      await next();
    } finally {
      const outcome = ctx.state.signInAttempt as SignInAttempt | undefined;
      if (!outcome) await t.throttle.giveBack(attempt);
      else if (outcome.isSuccess) await Promise.all([t.throttle.reset(account), t.throttle.giveBack(attempt, [ip.scope])]);
    }
  };
}

/** Sign-up: every attempt counts per IP (creating accounts in bulk is the abuse), decided before any work. */
export function signupThrottleGuard(ic: InteractionContext, t: SignInThrottle): Middleware {
  return async (ctx, next) => {
    const ip: ThrottleKey = { scope: 'signup:ip', value: ctx.ip, policy: t.ip };
    const attempt = await t.throttle.take([ip]);
    if (!attempt.isAllowed) {
      const details = ctx.state.interaction as Details;
      const ui = ic.ui(ctx, details, '/signup');
      throttled(ctx, attempt.retryAfterSeconds);
      const link = { href: `/interaction/${details.uid}/signup`, text: ui.t.signup.title };
      return renderPage(ctx, errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.login.throttled(attempt.retryAfterSeconds), code: 'too_many_attempts', link }), 429);
    }
    try {
      await next();
    } finally {
      if (!ctx.state.signUpAttempt) await t.throttle.giveBack(attempt);
    }
  };
}
