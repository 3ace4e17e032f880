import Router from '@koa/router';
import type { Middleware } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import type { PasswordReset } from '../accounts/password-reset.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ConsentService } from '../consents/consent-service.ts';
import { confirmHandler, type EffectiveScopes, renderConsent } from './consent-routes.ts';
import { forgotPasswordRoutes } from './forgot-password-routes.ts';
import type { FormTokens } from './form-tokens.ts';
import { createInteractionContext, type Details } from './interaction-context.ts';
import { type LoginDeps, loginHandler, renderLogin } from './login-routes.ts';
import type { PendingVerification } from './pending-verification.ts';
import { createSignInGate } from './sign-in-gate.ts';
import type { SignInOutcomes } from './sign-in-outcomes.ts';
import { createSignInAttempts, type SignInThrottle } from './sign-in-throttle.ts';
import { signupRoutes } from './signup-routes.ts';
import { type UpstreamRouteDeps, upstreamRoutes } from './upstream-routes.ts';
import { verifyEmailRoutes } from './verify-email-routes.ts';

export type InteractionDeps = LoginDeps & {
  accounts: AccountService;
  consents: ConsentService;
  /** CSRF tokens for every form the interaction pages render. */
  formTokens: FormTokens;
  /** What each password sign-in and sign-up came to (metrics and the audit trail subscribe). */
  outcomes: SignInOutcomes;
  /** Consents granted go to the audit trail. */
  audit?: AuditLog;
  /** Brute-force defence: progressive delays, then a block, per email and per IP. */
  throttle?: SignInThrottle;
  /** Upstream sign-in (Google, Kakao, Naver, OpenID Connect): the login page's buttons lead here. */
  upstream?: UpstreamRouteDeps;
  /** The account lifecycle: verification links, EMAIL_VERIFICATION, "Forgot password?". */
  lifecycle: { verification: EmailVerification; passwordReset: PasswordReset; pending: PendingVerification; isVerificationRequired: boolean };
  /** Of an API's scopes, those the user's token would carry (an --rbac API: what their roles grant). */
  effectiveScopes?: EffectiveScopes;
};

/**
 * The pages oidc-provider sends the browser to when it needs a sign-in or a consent (notes §12).
 * Every page and form lives under /interaction/:uid, the path of the interaction cookie; that
 * SameSite cookie binds each form post to the browser that started the flow, and each form's
 * CSRF token (form-tokens.ts) to the page we rendered.
 */
export function interactionRoutes(provider: Provider, deps: InteractionDeps): Middleware {
  const router = new Router({ prefix: '/interaction/:uid' });
  const ic = createInteractionContext(provider, deps.formTokens);

  router.get('/', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name === 'login') await renderLogin(ctx, ic, deps, details);
    else await renderConsent(ctx, ic, deps.accounts, details, deps.effectiveScopes);
  });
  const attempts = createSignInAttempts(deps.throttle);
  // Disabled users and EMAIL_VERIFICATION=required stop every kind of sign-in here, once it proved who it is.
  const gate = createSignInGate(ic, deps.lifecycle);
  router.post('/login', ic.withInteraction, loginHandler(ic, { ...deps, gate, attempts }));
  signupRoutes(router, ic, { ...deps, gate, attempts, verification: deps.lifecycle.verification });
  if (deps.upstream) upstreamRoutes(router, ic, { ...deps.upstream, accounts: deps.accounts, gate });
  forgotPasswordRoutes(router, ic, { passwordReset: deps.lifecycle.passwordReset, throttle: deps.throttle });
  verifyEmailRoutes(router, ic, {
    accounts: deps.accounts,
    verification: deps.lifecycle.verification,
    pending: deps.lifecycle.pending,
    gate,
    throttle: deps.throttle,
  });
  router.post('/confirm', ic.withInteraction, confirmHandler(provider, ic, deps.consents, deps.audit));
  router.post('/abort', ic.withInteraction, async (ctx) => {
    await ic.finish(ctx, { error: 'access_denied', error_description: 'the user cancelled the request' });
  });

  const routes = router.routes();
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    try {
      await routes(ctx as Parameters<typeof routes>[0], next);
    } catch (err) {
      // Cannot be redirected to the client (notes §12): the cookie is gone, expired or foreign.
      if (!(err instanceof errors.SessionNotFound)) throw err;
      const ui = pageUi(ctx);
      const page = errorPage({ ui, title: ui.t.errors.expiredTitle, message: ui.t.errors.expiredMessage, code: 'interaction_expired' });
      renderPage(ctx, page, 400);
    }
  };
}
