import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { sendOAuthError } from './oauth-error.ts';
import { isProtocolApi } from './protocol-routes.ts';

/**
 * Our own routes' error handler: a request id on every response, AppErrors and 4xx errors
 * rendered with their status, anything else a generic 500 with the id logged. On oidc-provider's
 * API endpoints (the token endpoint …) an error is always OAuth error JSON, whatever the client
 * accepts: a failure in our middleware there (e.g. Redis down under the refresh grace) must look
 * like one of the library's own. (oidc-provider renders its own protocol errors.)
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } catch (err) {
      const e = err as { status?: number; expose?: boolean; message?: string; code?: string };
      const isClientError = err instanceof AppError || (typeof e.status === 'number' && e.status >= 400 && e.status < 500);
      const status = isClientError ? (e.status ?? 400) : 500;
      if (!isClientError) logger.error({ err, requestId }, 'unhandled error');
      const message = isClientError && (err instanceof AppError || e.expose) ? e.message! : 'Something went wrong on our side.';
      const code = err instanceof AppError ? err.code : isClientError ? 'invalid_request' : 'server_error';
      ctx.set('Cache-Control', 'no-store');
      if (err instanceof ServerBusy) ctx.set('Retry-After', String(err.retryAfterSeconds));
      if (isProtocolApi(ctx.path) || ctx.accepts('html', 'json') === 'json') {
        sendOAuthError(ctx, status, code, message);
      } else {
        const ui = pageUi(ctx);
        const { errors } = ui.t;
        const page =
          status === 500
            ? errorPage({ ui, title: errors.serverErrorTitle, message: errors.serverErrorMessage, code, requestId })
            : errorPage({ ui, title: errors.notAcceptedTitle, message: errors.notAcceptedMessage, detail: message, code, requestId });
        renderPage(ctx, page, status);
      }
    }
    // A body refused before it was read to its end (oidc-provider's 56 KiB cap stops reading
    // mid-stream and answers 400 keep-alive) would leave its rest on the socket, parsed as the
    // next request: close the connection instead (notes §2).
    if (!ctx.req.complete) ctx.set('Connection', 'close');
  };
}
