import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { Messages } from '../i18n/messages.ts';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import type { UpstreamAccounts } from '../upstreams/upstream-accounts.ts';
import type { UpstreamClient } from '../upstreams/upstream-client.ts';
import type { UpstreamService } from '../upstreams/upstream-service.ts';
import type { UpstreamCookies } from './upstream-cookies.ts';
import { renderUpstreamError } from './upstream-routes.ts';

export type UpstreamCallbackDeps = {
  upstreams: UpstreamService;
  client: UpstreamClient;
  accounts: UpstreamAccounts;
  cookies: UpstreamCookies;
  store: ShortLivedStore;
  audit: AuditLog;
  logger: Logger;
};

const PATH = /^\/upstream\/([a-z0-9][a-z0-9-]{0,39})\/callback$/;
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * GET /upstream/:id/callback, the redirect URI registered at each upstream. Checks the browser's
 * sealed transaction (state, once only), redeems the code, applies the linking rules, then hands
 * the account to /interaction/:uid/upstream/:id/finish in a sealed cookie on the interaction's path.
 * Every failure is a page with a 4xx status (502 if the upstream cannot be reached).
 */
export function upstreamCallback(deps: UpstreamCallbackDeps): Middleware {
  return async (ctx, next) => {
    const match = PATH.exec(ctx.path);
    if (!match || ctx.method !== 'GET') return next();
    ctx.state.route = 'upstream_callback';
    const upstream = await deps.upstreams.find(match[1]!);
    if (!upstream) throw new AppError('not_found', 'no such upstream', 404);
    const t = deps.cookies.takeTransaction(ctx, upstream.id);
    const query = new URLSearchParams(ctx.querystring);
    const state = query.get('state') ?? '';
    const refuse = (code: string, status = 400, uid?: string, message = (tr: Messages) => tr.upstream.failedMessage(upstream.name)) => {
      deps.logger.warn({ upstream: upstream.id, code }, 'upstream sign-in refused');
      renderUpstreamError(ctx, { status, code, uid, title: (tr) => tr.upstream.failedTitle, message });
    };
    // No transaction, or not this one: a forged, replayed or foreign callback (RFC 9700 §4.7).
    if (!t || !sameText(state, t.state)) return refuse('upstream_state', 400, undefined, (tr) => tr.upstream.expiredMessage);
    const isFirstUse = await deps.store.setIfAbsent(`upstream-state:${createHash('sha256').update(t.state).digest('base64url')}`, '1', 600);
    if (!isFirstUse) return refuse('upstream_state', 400, undefined, (tr) => tr.upstream.expiredMessage);

    const error = query.get('error');
    if (error) {
      deps.logger.info({ upstream: upstream.id, error: error.slice(0, 100) }, 'upstream answered with an error');
      return renderUpstreamError(ctx, {
        status: 400,
        code: error === 'access_denied' ? 'access_denied' : 'upstream_error',
        uid: t.uid,
        title: (tr) => tr.upstream.cancelledTitle,
        message: (tr) => tr.upstream.cancelledMessage(upstream.name),
      });
    }
    let profile: Awaited<ReturnType<typeof deps.client.finish>>;
    try {
      profile = await deps.client.finish(upstream, query, t);
    } catch (err) {
      const e = err as Error & { code?: string; error?: string; cause?: unknown };
      // Only the reasons (openid-client's and the check's underneath): never a response body, which may carry tokens.
      const reason = e.cause instanceof Error ? e.cause.message : undefined;
      deps.logger.warn({ upstream: upstream.id, err: e.message, reason, code: e.code ?? e.error }, 'upstream token or profile check failed');
      const isUnreachable = e.name === 'TimeoutError' || e.name === 'AbortError' || (e instanceof TypeError && e.message === 'fetch failed');
      return isUnreachable
        ? refuse('upstream_unavailable', 502, t.uid, (tr) => tr.upstream.unavailableMessage(upstream.name))
        : refuse('upstream_failed', 400, t.uid);
    }

    const outcome = await deps.accounts.resolve(upstream.id, profile);
    if (outcome.kind === 'email_in_use') {
      return renderUpstreamError(ctx, {
        status: 409,
        code: 'email_in_use',
        uid: t.uid,
        title: (tr) => tr.upstream.emailInUseTitle,
        message: (tr) => tr.upstream.emailInUseMessage(upstream.name),
      });
    }
    if (outcome.kind === 'no_email') {
      return renderUpstreamError(ctx, {
        status: 400,
        code: 'no_email',
        uid: t.uid,
        title: (tr) => tr.upstream.noEmailTitle,
        message: (tr) => tr.upstream.noEmailMessage(upstream.name),
      });
    }
    if (outcome.isNewLink) {
      await deps.audit.record({
        type: outcome.isNewAccount ? 'upstream.account_created' : 'upstream.identity_linked',
        accountId: outcome.accountId,
        ip: ctx.ip,
        details: { upstream: upstream.id },
      });
    }
    deps.cookies.setOutcome(ctx, t.uid, { upstreamId: upstream.id, accountId: outcome.accountId, isNewAccount: outcome.isNewAccount });
    ctx.status = 303;
    ctx.redirect(`/interaction/${t.uid}/upstream/${upstream.id}/finish`);
  };
}
