import type { KoaContextWithOIDC } from 'oidc-provider';
import { deviceCodePage, deviceConfirmPage, deviceDonePage } from '../../views/device.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { DevicePages } from './provider-configuration.ts';

type Ctx = Parameters<typeof renderPage>[0];
const ACTION = '/device'; // oidc-provider's code_verification route

/** The code a verification_uri_complete link carried (device-code-guard.ts took it off the query). */
export const linkedUserCode = (ctx: { state: Record<string, unknown> }) => ctx.state.deviceUserCode as string | undefined;

// Errors that mean "this code is no good": the attempt counts against the address (§5.1).
const CODE_ERRORS = new Set(['NotFoundError', 'ExpiredError', 'AlreadyUsedError', 'NoCodeError']);

/**
 * RFC 8628's pages (oidc-provider's deviceFlow sources) with our views, CSP and languages. The
 * xsrf secret is the one the library keeps in the session state; our forms carry it as its own do.
 */
export const devicePages: DevicePages = {
  async userCodeInputSource(ctx, _form, _out, err) {
    const c = ctx as unknown as Ctx;
    const ui = pageUi(c);
    const xsrf = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '';
    if (!err) return renderPage(c, deviceCodePage({ ui, action: ACTION, xsrf, userCode: linkedUserCode(c) }));
    const isCodeError = CODE_ERRORS.has(err.name) || err.userCode !== undefined;
    if (isCodeError) c.state.deviceCodeRejected = true; // the throttle keeps this attempt counted
    const isAborted = err.name === 'AbortedError';
    const error = isCodeError ? ui.t.device.wrongCode : isAborted ? undefined : ui.t.device.failed;
    const page = deviceCodePage({ ui, action: ACTION, xsrf, error, message: isAborted ? ui.t.device.interrupted : undefined });
    // A wrong code is bad input (400); the other re-renders keep the status the library chose.
    renderPage(c, page, isCodeError ? 400 : c.status >= 400 ? c.status : 200);
  },

  async userCodeConfirmSource(ctx, _form, client, _deviceInfo, userCode) {
    const c = ctx as unknown as Ctx;
    const xsrf = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '';
    const { clientName, clientId } = client as { clientName?: string; clientId: string };
    renderPage(c, deviceConfirmPage({ ui: pageUi(c), action: ACTION, xsrf, userCode, clientName: clientName ?? clientId }));
  },

  async successSource(ctx: KoaContextWithOIDC) {
    const c = ctx as unknown as Ctx;
    renderPage(c, deviceDonePage({ ui: pageUi(c), clientName: ctx.oidc.client?.clientName }));
  },
};
