import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import { consentPage } from '../../views/consent.ts';
import { errorPage } from '../../views/error.ts';
import { loginPage } from '../../views/login.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { field, readForm } from '../http/read-form.ts';
import { renderPage } from '../http/render-page.ts';
import { describeScopes } from './scope-descriptions.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The pages oidc-provider sends the browser to when it needs a sign-in or a consent (notes §12).
 * Every page and form lives under /interaction/:uid, the path of the interaction cookie; that
 * SameSite cookie also binds each form post to the browser that started the flow.
 */
export function interactionRoutes(provider: Provider, accounts: AccountService): Middleware {
  const router = new Router({ prefix: '/interaction/:uid' });

  const load = async (ctx: Context): Promise<Details> => {
    ctx.state.route = 'interaction';
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    return details;
  };
  const clientName = async (details: Details) => {
    const client = await provider.Client.find(String(details.params.client_id));
    return client?.clientName ?? String(details.params.client_id);
  };
  const finish = async (ctx: Context, result: Parameters<Provider['interactionResult']>[2]) => {
    const url = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303; // a POST must be followed by a GET
    ctx.redirect(url);
  };
  const showConsent = async (ctx: Context, details: Details) => {
    const d = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    const account = await accounts.findById(String(details.session?.accountId));
    renderPage(
      ctx,
      consentPage({
        uid: details.uid,
        clientName: await clientName(details),
        accountEmail: account?.email ?? '',
        scopes: describeScopes(d.missingOIDCScope ?? [], d.missingResourceScopes ?? {}),
      }),
    );
  };

  router.get('/', async (ctx) => {
    const details = await load(ctx);
    if (details.prompt.name === 'login') {
      renderPage(ctx, loginPage({ uid: details.uid, clientName: await clientName(details) }));
    } else {
      await showConsent(ctx, details);
    }
  });

  router.post('/login', async (ctx) => {
    const details = await load(ctx);
    const form = await readForm(ctx);
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const email = field(form, 'email');
    const account = await accounts.authenticate(email, field(form, 'password'));
    if (!account) {
      // One answer for an unknown email and a wrong password (no account enumeration).
      const page = loginPage({ uid: details.uid, clientName: await clientName(details), email, error: 'Email or password is incorrect.' });
      return renderPage(ctx, page, 401);
    }
    await finish(ctx, { login: { accountId: account.id } });
  });

  router.post('/confirm', async (ctx) => {
    const details = await load(ctx);
    await readForm(ctx);
    if (details.prompt.name !== 'consent' || !details.session) return ctx.redirect(`/interaction/${details.uid}`);
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant =
      (details.grantId && (await provider.Grant.find(details.grantId))) ||
      new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    await finish(ctx, { consent: { grantId: await grant.save() } });
  });

  router.post('/abort', async (ctx) => {
    await load(ctx);
    await readForm(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'the user cancelled the request' });
  });

  const routes = router.routes();
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    try {
      await routes(ctx as Parameters<typeof routes>[0], next);
    } catch (err) {
      // Cannot be redirected to the client (notes §12): the cookie is gone, expired or foreign.
      if (!(err instanceof errors.SessionNotFound)) throw err;
      const page = errorPage({
        title: 'This sign-in has expired',
        message: 'This page is no longer valid. Go back to the application and start signing in again.',
        code: 'interaction_expired',
      });
      renderPage(ctx, page, 400);
    }
  };
}
