import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { errorPage } from '../../views/error.ts';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { pageUi } from './page-ui.ts';
import { renderPage } from './render-page.ts';

const WINDOW_SECONDS = 60;

/**
 * New authorization requests per client address per minute. Anyone may GET /auth without
 * credentials, and each request that needs a sign-in stores an Interaction: without a limit one
 * address made 1,000 in 3 s. The count lives in the short-lived store (Redis, or Postgres), not
 * in memory, so the bound holds over all instances behind a load balancer — what is being
 * protected is that shared store, and /auth already writes to it, so one INCR more is cheap. The
 * counter is incremented before anything else (atomic, so a burst cannot slip past a check), in
 * a fixed window per minute; keys hold a hash of the address, never the address.
 * Over the limit: 429 with Retry-After until the window ends, as a page (browsers come here).
 */
export function authorizationRateLimit(options: { store: ShortLivedStore; perMinute: number; path: string; now?: () => number }): Middleware {
  const now = options.now ?? Date.now;
  return async (ctx, next) => {
    if (options.perMinute <= 0 || ctx.path !== options.path || (ctx.method !== 'GET' && ctx.method !== 'POST')) return next();
    const at = now();
    const window = Math.floor(at / (WINDOW_SECONDS * 1000));
    const address = createHash('sha256').update(ctx.ip).digest('base64url');
    const count = await options.store.increment(`auth-rate:${address}:${window}`, WINDOW_SECONDS);
    if (count <= options.perMinute) return next();

    const seconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_SECONDS * 1000 - at) / 1000));
    ctx.set('Retry-After', String(seconds));
    ctx.state.throttled = true;
    const ui = pageUi(ctx);
    renderPage(ctx, errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.login.throttled(seconds), code: 'too_many_requests', requestId: ctx.state.requestId }), 429);
  };
}
