import type { Middleware } from 'koa';

/** Headers safe on every response, including oidc-provider's own (its form_post page needs script, so no CSP here). */
export function securityHeaders(options: { isTls: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (options.isTls) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
