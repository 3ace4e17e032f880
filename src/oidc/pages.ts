import type { KoaContextWithOIDC } from 'oidc-provider';
import { errorPage } from '../../views/error.ts';
import { raw } from '../../views/html.ts';
import { logoutPage, signedOutPage } from '../../views/logout.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';

type Ctx = Parameters<typeof renderPage>[0];

/** oidc-provider's page hooks, rendered with our views and CSP. */
export const pages = {
  // Errors that cannot be redirected to the client (e.g. a bad redirect_uri): render, never redirect.
  // A failure of ours (storage down, a bug) reaches here as a plain Error: the library calls it
  // server_error and gives it no status; it is a 500, not the client's fault.
  async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: Error) {
    const isServerError = out.error === 'server_error';
    const given = (error as { statusCode?: number }).statusCode;
    const status = given !== undefined && given >= 400 ? given : isServerError ? 500 : 400;
    const ui = pageUi(ctx as unknown as Ctx);
    const { errors } = ui.t;
    renderPage(
      ctx as unknown as Ctx,
      errorPage({
        ui,
        title: isServerError ? errors.serverErrorTitle : errors.requestRefusedTitle,
        message: isServerError ? errors.serverErrorMessage : errors.requestRefusedMessage,
        detail: isServerError ? undefined : out.error_description, // oidc-provider's words, in English
        code: out.error,
        requestId: (ctx as unknown as Ctx).state.requestId,
      }),
      status,
    );
  },
  async logoutSource(ctx: KoaContextWithOIDC, form: string) {
    renderPage(ctx as unknown as Ctx, logoutPage({ ui: pageUi(ctx as unknown as Ctx), form: raw(form), host: ctx.host }));
  },
  async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
    renderPage(ctx as unknown as Ctx, signedOutPage({ ui: pageUi(ctx as unknown as Ctx), clientName: ctx.oidc.client?.clientName }));
  },
};
