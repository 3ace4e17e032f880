import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { PageUi } from '../i18n/messages.ts';
import type { UpstreamClient } from '../upstreams/upstream-client.ts';
import type { UpstreamService } from '../upstreams/upstream-service.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { SignInGate } from './sign-in-gate.ts';
import type { UpstreamCookies } from './upstream-cookies.ts';

export type UpstreamRouteDeps = { upstreams: UpstreamService; client: UpstreamClient; cookies: UpstreamCookies; logger: Logger };

/** A refusal page for the upstream steps, with a way back to the sign-in page when there is one. */
export function renderUpstreamError(
  ctx: Context,
  p: { ui?: PageUi; status: number; code: string; title: (t: PageUi['t']) => string; message: (t: PageUi['t']) => string; uid?: string },
): void {
  const ui = p.ui ?? pageUi(ctx, p.uid ? { path: `/interaction/${p.uid}` } : {});
  const link = p.uid ? { href: `/interaction/${p.uid}`, text: ui.t.upstream.backToSignIn } : undefined;
  renderPage(ctx, errorPage({ ui, title: p.title(ui.t), message: p.message(ui.t), code: p.code, requestId: ctx.state.requestId, link }), p.status);
}

/**
 * /interaction/:uid/upstream/:id (the login page's buttons): off to the upstream with state, PKCE
 * and a nonce; /interaction/:uid/upstream/:id/finish: back from our callback, the sign-in ends.
 */
export function upstreamRoutes(router: Router, ic: InteractionContext, deps: UpstreamRouteDeps & { accounts: AccountService; gate: SignInGate }): void {
  const start: Middleware = async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const upstream = await deps.upstreams.find(String(ctx.params.id));
    const ui = ic.ui(ctx, details);
    if (!upstream) {
      return renderPage(ctx, errorPage({ ui, title: ui.t.errors.notFoundTitle, message: ui.t.errors.notFoundMessage }), 404);
    }
    let started: Awaited<ReturnType<typeof deps.client.start>>;
    try {
      started = await deps.client.start(upstream, details.uid);
    } catch (err) {
      deps.logger.warn({ upstream: upstream.id, err: (err as Error).message }, 'upstream discovery failed');
      return renderUpstreamError(ctx, {
        ui,
        status: 502,
        code: 'upstream_unavailable',
        uid: details.uid,
        title: (t) => t.upstream.failedTitle,
        message: (t) => t.upstream.unavailableMessage(upstream.name),
      });
    }
    deps.cookies.setTransaction(ctx, started.transaction);
    ctx.status = 303;
    ctx.redirect(started.url.href);
  };
  router.post('/upstream/:id', ic.withInteraction, start);
  router.get('/upstream/:id', ic.withInteraction, start);

  router.get('/upstream/:id/finish', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    const outcome = deps.cookies.takeOutcome(ctx, details.uid);
    // The upstream's answer is gone (used, expired, or for another upstream), or its account is.
    const expired = () =>
      renderUpstreamError(ctx, {
        ui: ic.ui(ctx, details),
        status: 400,
        code: 'upstream_state',
        uid: details.uid,
        title: (t) => t.upstream.failedTitle,
        message: (t) => t.upstream.expiredMessage,
      });
    if (!outcome || outcome.upstreamId !== ctx.params.id) return expired();
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    // Disabled, or (EMAIL_VERIFICATION=required) an address the upstream did not vouch for: the
    // gate's page instead; a new such account gets its verification link now.
    const account = await deps.accounts.findById(outcome.accountId);
    if (!account) return expired();
    if (await deps.gate(ctx, details, account, { sendLink: outcome.isNewAccount === true })) return;
    await ic.finish(ctx, { login: { accountId: outcome.accountId } });
  });
}
