import type { Context, Middleware } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import { field, readForm } from '../http/read-form.ts';
import type { FormTokens } from './form-tokens.ts';

export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
export type InteractionResult = Parameters<Provider['interactionResult']>[2];

/** What every interaction step shares: loading the interaction, naming its client, finishing it. */
export function createInteractionContext(provider: Provider, formTokens: FormTokens) {
  const load = async (ctx: Context): Promise<Details> => {
    ctx.state.route = 'interaction';
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    return details;
  };

  return {
    load,

    /**
     * Route middleware: the interaction in ctx.state.interaction and, for a POST, the form in
     * ctx.state.form, once its CSRF token proved it came from our page. It runs before any guard
     * (a throttle reads the email from the form), so a forged post counts as no attempt at all.
     */
    withInteraction: (async (ctx, next) => {
      const details = await load(ctx);
      ctx.state.interaction = details;
      if (ctx.method === 'POST') {
        const form = await readForm(ctx);
        if (!formTokens.isValid(details.uid, field(form, 'csrf'))) return refuseForm(ctx, details);
        ctx.state.form = form;
      }
      return next();
    }) as Middleware,

    /** The CSRF token every form of this interaction carries. */
    formToken: (details: Details) => formTokens.tokenFor(details.uid),

    async clientName(details: Details): Promise<string> {
      const client = await provider.Client.find(String(details.params.client_id));
      return client?.clientName ?? String(details.params.client_id);
    },

    /** The page language; the switcher links to `/interaction/:uid{page}` (a GET, even after a POST). */
    ui: (ctx: Context, details: Details, page = '') =>
      pageUi(ctx, {
        uiLocales: typeof details.params.ui_locales === 'string' ? details.params.ui_locales : undefined,
        path: `/interaction/${details.uid}${page}`,
      }),

    /**
     * Ends this step. A sign-in records when it happened (`ts`: the ID token's auth_time) so that
     * a later step which carries it forward does not move it. `keepSignIn` (the consent step)
     * carries forward the sign-in made earlier in the same authorization request: without it
     * oidc-provider sees only the consent, and with prompt=login it asks for the password again
     * (its login prompt is pending until a result holds a login; notes §12).
     */
    async finish(ctx: Context, result: InteractionResult, options: { keepSignIn?: boolean } = {}): Promise<void> {
      const stamped = result.login && result.login.ts === undefined ? { ...result, login: { ...result.login, ts: Math.floor(Date.now() / 1000) } } : result;
      const url = await provider.interactionResult(ctx.req, ctx.res, stamped, { mergeWithLastSubmission: options.keepSignIn === true });
      ctx.status = 303; // a POST must be followed by a GET
      ctx.redirect(url);
    },
  };
}

export type InteractionContext = ReturnType<typeof createInteractionContext>;

/** 403: a post that did not come from our own page (another site's form, a stale copy). */
function refuseForm(ctx: Context, details: Details): void {
  const ui = pageUi(ctx, { path: `/interaction/${details.uid}` });
  const link = { href: `/interaction/${details.uid}`, text: ui.t.errors.formRefusedLink };
  renderPage(ctx, errorPage({ ui, title: ui.t.errors.formRefusedTitle, message: ui.t.errors.formRefusedMessage, code: 'invalid_form', link }), 403);
}
