import type { Middleware } from 'koa';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { AttemptThrottle, ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';

const PATH = '/device';
const MAX_CODE_LENGTH = 32;

/**
 * RFC 8628 §5.1: user codes are short, so guessing them must be slow. Wrong codes entered from one
 * address: 5 free, then waits of 1 s, 2 s, 4 s … and from the 20th a 15-minute block. At most ~20
 * guesses per quarter hour against 20^8 codes alive for 10 minutes each.
 */
export const DEVICE_CODE_POLICY: ThrottlePolicy = { freeAttempts: 5, blockAfter: 20, blockSeconds: 900, maxDelaySeconds: 60, windowSeconds: 3600 };

/**
 * In front of oidc-provider's /device: every POST is counted per address before the library looks
 * the code up; only a rejected code (device-pages.ts says so) stays counted. A link with
 * `?user_code=` (verification_uri_complete) would make the library answer with an auto-submitting
 * form, which needs script our pages do not allow: the code is taken off the query and put into
 * the entry field instead, so the user still presses Continue and then confirms (§5.4).
 */
export function deviceCodeGuard(deps: { throttle: AttemptThrottle; policy?: ThrottlePolicy }): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== PATH) return next();
    if (ctx.method === 'GET' && typeof ctx.query.user_code === 'string') {
      const code = ctx.query.user_code.slice(0, MAX_CODE_LENGTH);
      const rest = new URLSearchParams(ctx.querystring);
      rest.delete('user_code');
      ctx.querystring = rest.toString();
      ctx.state.deviceUserCode = code;
      return next();
    }
    if (ctx.method !== 'POST') return next();
    const key: ThrottleKey = { scope: 'device:ip', value: addressGroup(ctx.ip), policy: deps.policy ?? DEVICE_CODE_POLICY };
    const attempt = await deps.throttle.take([key]);
    if (!attempt.isAllowed) {
      const ui = pageUi(ctx);
      ctx.set('Retry-After', String(attempt.retryAfterSeconds));
      const link = { href: PATH, text: ui.t.device.enterTitle };
      return renderPage(
        ctx,
        errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.device.throttled(attempt.retryAfterSeconds), code: 'too_many_attempts', link }),
        429,
      );
    }
    try {
      await next();
    } finally {
      if (!ctx.state.deviceCodeRejected) await deps.throttle.giveBack(attempt);
    }
  };
}
