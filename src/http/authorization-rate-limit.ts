import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import { protocolFormOf } from '../oidc/protocol-form.ts';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { addressGroup } from '../throttle/address-group.ts';
import { sendOAuthError } from './oauth-error.ts';

const WINDOW_SECONDS = 60;

/** A pushed request that authenticates a client (RFC 6749 §2.3, RFC 7523): a confidential client's backend. */
const presentsClientCredentials = (ctx: Context, form: URLSearchParams | undefined) =>
  ctx.get('authorization') !== '' || Boolean(form?.has('client_secret') || form?.has('client_assertion'));

/**
 * New authorization requests per client address per minute. Anyone may GET /auth without
 * credentials, and each request that needs a sign-in stores an Interaction: without a limit one
 * address made 1,000 in 3 s. A pushed authorization request (RFC 9126) of a public client needs
 * no credentials either and is stored too (for 60 s), so it counts against the same budget; one
 * that presents client credentials comes from a client's backend, on behalf of all its users,
 * and does not (with wrong credentials nothing is stored). The logout page (/session/end) stores
 * a session for its form's secret, so it counts against the same budget.
 *
 * The count lives in the short-lived store (Redis, or Postgres), not in memory, so the bound
 * holds over all instances behind a load balancer — what is being protected is that shared
 * store, and these requests write to it anyway, so one INCR more is cheap. The counter is
 * incremented before anything else (atomic: a burst cannot slip past a check), in a fixed
 * window per minute; keys hold a hash of the address, never the address. Over the limit: 429
 * with Retry-After until the window ends, a page at /auth (browsers come there), error JSON at
 * the PAR endpoint.
 */
export function authorizationRateLimit(options: {
  store: ShortLivedStore;
  perMinute: number;
  /** Pages anyone may open without credentials that store something: /auth, and /session/end (its xsrf session). */
  pagePaths: string[];
  parPath: string;
  now?: () => number;
}): Middleware {
  const now = options.now ?? Date.now;

  /** Counts this request; the seconds to wait when it is over the limit, else 0. */
  const overLimit = async (ctx: Context): Promise<number> => {
    const at = now();
    const window = Math.floor(at / (WINDOW_SECONDS * 1000));
    const address = createHash('sha256').update(addressGroup(ctx.ip)).digest('base64url');
    const count = await options.store.increment(`auth-rate:${address}:${window}`, WINDOW_SECONDS);
    return count <= options.perMinute ? 0 : Math.max(1, Math.ceil(((window + 1) * WINDOW_SECONDS * 1000 - at) / 1000));
  };
  const refuse = (ctx: Context, seconds: number) => {
    ctx.set('Retry-After', String(seconds));
    ctx.set('Cache-Control', 'no-store');
  };

  return async (ctx, next) => {
    if (options.perMinute <= 0) return next();
    if (options.pagePaths.includes(ctx.path) && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const wait = await overLimit(ctx);
      if (wait === 0) return next();
      refuse(ctx, wait);
      const ui = pageUi(ctx);
      renderPage(
        ctx,
        errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.login.throttled(wait), code: 'too_many_requests', requestId: ctx.state.requestId }),
        429,
      );
      return;
    }
    if (ctx.path === options.parPath && ctx.method === 'POST') {
      if (presentsClientCredentials(ctx, protocolFormOf(ctx))) return next();
      const wait = await overLimit(ctx);
      if (wait === 0) return next();
      return sendOAuthError(ctx, 429, 'rate_limited', 'too many authorization requests from this address; retry later', { 'Retry-After': String(wait) });
    }
    return next();
  };
}
