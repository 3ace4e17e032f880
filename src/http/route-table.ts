import type { JSONWebKeySet } from 'jose';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { accountLinkRoutes, RESET_PASSWORD_PATH, VERIFY_EMAIL_PATH } from '../account-links/account-link-routes.ts';
import { createAccountCookies } from '../account-page/account-cookies.ts';
import { createAccountFormTokens } from '../account-page/account-form-tokens.ts';
import { type AccountPageDeps, accountPageRoutes } from '../account-page/account-page-routes.ts';
import { adminApi } from '../admin/admin-api.ts';
import { clientExtras } from '../clients/client-extras.ts';
import type { SelfRegistrationGrant } from '../clients/registration-tokens.ts';
import type { Core } from '../core.ts';
import { createFormTokens } from '../interactions/form-tokens.ts';
import { interactionRoutes } from '../interactions/interaction-routes.ts';
import { createPendingVerification } from '../interactions/pending-verification.ts';
import { observeSignIns } from '../interactions/sign-in-observer.ts';
import { createSignInOutcomes } from '../interactions/sign-in-outcomes.ts';
import { upstreamCallback } from '../interactions/upstream-callback.ts';
import { createUpstreamCookies } from '../interactions/upstream-cookies.ts';
import { refreshTokensOn } from '../oidc/adapters/adapter-for-model.ts';
import { introspectJwt } from '../oidc/introspect-jwt.ts';
import { createOwnTokenCheck, sharedDpopReplay } from '../oidc/own-token-check.ts';
import { withProtocolForm } from '../oidc/protocol-form.ts';
import { refreshGrace } from '../oidc/refresh-grace.ts';
import { revokeJwt } from '../oidc/revoke-jwt.ts';
import { createForwardAuth } from '../resource-server/forward-auth.ts';
import { resourceMetadataEndpoint } from '../resource-server/resource-metadata-endpoint.ts';
import { revocationFeed } from '../resource-server/revocation-feed.ts';
import { createSignInThrottle } from '../throttle/attempt-throttle.ts';
import { createUpstreamAccounts } from '../upstreams/upstream-accounts.ts';
import { createUpstreamClient } from '../upstreams/upstream-client.ts';
import { createUpstreamIdentityRepository } from '../upstreams/upstream-identity-repository.ts';
import { assets } from './assets.ts';
import { authorizationRateLimit } from './authorization-rate-limit.ts';
import { deviceCodeGuard } from './device-code-guard.ts';
import { errorHandler } from './error-handler.ts';
import { healthEndpoints } from './health.ts';
import { issuerHost } from './issuer-host.ts';
import { jwksCacheControl } from './jwks-cache.ts';
import { metricsEndpoint } from './metrics.ts';
import { registrationGuard } from './registration-guard.ts';
import { requestLog } from './request-log.ts';
import { routeByPath } from './route-by-path.ts';
import { securityHeaders } from './security-headers.ts';
import { tokenRateLimit } from './token-rate-limit.ts';

/**
 * Our HTTP layer in front of oidc-provider's router: the middleware list, outermost first, and
 * the path table. Built once (token buckets, the forward-auth revocation mirror and throttles
 * keep their state across Provider rebuilds); `middlewareFor` runs for every build, with that
 * build's published keys.
 */
export function createRouteTable(core: Core) {
  const { config, logger, knex, redis, notices } = core;
  const s = core.services;
  const forwardAuth = createForwardAuth({ issuer: config.issuer, revocations: s.revocations, logger, metrics: s.metrics });
  const dpopReplay = sharedDpopReplay(s.shortLived);
  let isDraining = false;
  const health = healthEndpoints([{ name: 'postgres', check: () => knex.raw('select 1') }, ...(redis ? [{ name: 'redis', check: () => redis.ping() }] : [])], {
    isDraining: () => isDraining,
    // Not a condition of readiness: while not listening, caches re-read Postgres (still correct).
    reports: config.databaseUrl ? [{ name: 'change_notices', isOk: notices.isListening, notOk: 'reconnecting' }] : [],
  });
  const limitTokenRequests = tokenRateLimit({ perSecond: config.tokenRateLimitPerSecond });
  const graceForRefresh = refreshGrace({
    knex,
    refreshTokensOn,
    rotations: s.refreshRotations,
    tokenPath: '/token',
    graceSecondsFor: (ctx) => clientExtras(ctx.oidc?.client).refresh_token_grace_seconds ?? config.refreshTokens.graceSeconds,
  });
  const limitAuthorizationRequests = authorizationRateLimit({
    store: s.shortLived,
    perMinute: config.authorizationRateLimitPerMinute,
    pagePaths: ['/auth', '/session/end'],
    parPath: '/request',
  });
  const throttle = createSignInThrottle(config.loginThrottle, s.shortLived);
  const formTokens = createFormTokens(core.secrets.formTokenKey); // CSRF tokens of the sign-in pages' forms
  // Upstream sign-in: the redirect URI to register at each upstream is `${ISSUER}/upstream/<id>/callback`.
  const upstream = {
    upstreams: s.upstreams,
    client: createUpstreamClient({ redirectUriFor: s.upstreams.redirectUriFor }),
    cookies: createUpstreamCookies(core.secrets.upstreamSealingKey),
    logger,
  };
  const upstreamAccounts = createUpstreamAccounts({ accounts: s.accounts, identities: createUpstreamIdentityRepository(knex) });
  const listUpstreams = async () => (await s.upstreams.list()).map((u) => ({ id: u.id, name: u.name }));
  // The account lifecycle at sign-in: EMAIL_VERIFICATION, "Forgot password?", the mailed links' pages.
  const lifecycle = {
    verification: s.verification,
    passwordReset: s.passwordReset,
    pending: createPendingVerification(core.secrets.accountSealingKey),
    isVerificationRequired: config.isEmailVerificationRequired,
  };
  const accountLinks = accountLinkRoutes({ verification: s.verification, passwordReset: s.passwordReset });
  // Clients that register themselves (RFC 7591) under the open policy or an initial access token.
  const { attempts, registrationGrants, perHour } = core.selfRegistration;
  const { selfService } = config;
  const guardRegistration =
    selfService.registration === 'off'
      ? undefined
      : registrationGuard({
          mode: selfService.registration,
          grants: registrationGrants,
          // The open policy: public clients of the listed APIs only.
          openGrant: async (): Promise<SelfRegistrationGrant> => {
            const apis = (await Promise.all(selfService.openApis.map((id) => s.resources.find(id)))).filter((a) => a !== undefined);
            return { via: 'open', apis: apis.map((a) => a.identifier), apiScopes: apis.flatMap((a) => a.scopes), mayBeConfidential: false };
          },
          tokenGrant: (token) => s.registrationTokens.grantFor(token),
          throttle: attempts,
          openPolicy: perHour(selfService.openRegistrationsPerHour),
        });
  const outcomes = createSignInOutcomes();
  observeSignIns(outcomes, { metrics: s.metrics, audit: s.audit, accounts: s.accounts, logger });
  // The signed-in person's /account page: a client of Gatehouse itself, with its own short cookie.
  const clock = () => new Date();
  const accountPage: AccountPageDeps = {
    ...s,
    issuer: config.issuer,
    access: s.accountAccess,
    throttle,
    isVerificationRequired: config.isEmailVerificationRequired,
    clock,
    cookies: createAccountCookies(core.secrets.accountSealingKey, clock),
    formTokens: createAccountFormTokens(core.secrets.formTokenKey),
  };

  return {
    middlewareFor(provider: Provider, publicJwks: JSONWebKeySet): Middleware[] {
      // One check of our own access tokens per build (its keys), for introspection, revocation and the admin API.
      const accessTokenCheck = createOwnTokenCheck({ issuer: config.issuer, publicJwks, isRevoked: (t) => s.revocations.isRevoked(t), dpopReplay });
      const account = accountPageRoutes(provider, accountPage); // redeems its sign-ins' codes with this build's engine
      return [
        forwardAuth.middleware(publicJwks), // first: it sits on every API request, and needs no request id, log line or page headers
        requestLog(logger, s.metrics), // outside the error handler: it logs and counts the status the client got
        errorHandler(logger),
        issuerHost(config.issuer), // every URL we write comes from ISSUER, never from Host / X-Forwarded-*
        securityHeaders({ isTls: config.issuer.startsWith('https://') }),
        routeByPath({
          '/token': withProtocolForm((ctx, next) => limitTokenRequests(ctx, () => graceForRefresh(ctx, next))),
          '/auth': limitAuthorizationRequests, // by address only; the engine reads a POST /auth itself (a page endpoint: its errors are pages)
          '/request': withProtocolForm(limitAuthorizationRequests), // PAR (RFC 9126) of a public client
          '/session/end': limitAuthorizationRequests, // the logout page stores a session for its form
          '/token/introspection': withProtocolForm(introspectJwt({ path: '/token/introspection', check: accessTokenCheck })),
          '/token/revocation': withProtocolForm(
            revokeJwt({
              path: '/token/revocation',
              check: accessTokenCheck,
              revocations: s.revocations,
              onRevoked: (ctx, token) =>
                s.audit.recordSoon({
                  type: 'token.revoked',
                  clientId: token.clientId,
                  accountId: token.accountId,
                  ip: ctx.ip,
                  details: { kind: token.kind, jti: token.jti },
                }),
            }),
          ),
          '/jwks': jwksCacheControl(config.jwksMaxAgeSeconds),
          '/healthz': health,
          '/readyz': health,
          '/metrics': metricsEndpoint(s.metrics, { token: config.metricsToken }),
          '/assets/': assets(),
          '/resource-metadata': resourceMetadataEndpoint({ issuer: config.issuer, resources: s.resources }), // RFC 9728, for gateways
          ...(selfService.isDeviceFlowOn ? { '/device': deviceCodeGuard({ throttle: attempts }) } : {}),
          ...(guardRegistration ? { '/reg': guardRegistration, '/reg/': guardRegistration } : {}),
          '/interaction/': interactionRoutes(provider, {
            accounts: s.accounts,
            consents: s.consents,
            formTokens,
            effectiveScopes: s.roles.effectiveScopes,
            isSignupEnabled: config.isSignupEnabled,
            listUpstreams,
            upstream,
            throttle,
            audit: s.audit,
            lifecycle,
            outcomes,
          }),
          [VERIFY_EMAIL_PATH]: accountLinks,
          [RESET_PASSWORD_PATH]: accountLinks,
          '/account': account,
          '/account/': account,
          '/upstream/': upstreamCallback({ ...upstream, accounts: upstreamAccounts, store: s.shortLived, audit: s.audit }),
          '/revocations': revocationFeed({ provider, revocations: s.revocations }),
          '/admin/': adminApi({ ...s, issuer: config.issuer, accessTokenCheck, logger }),
        }),
      ];
    },
    /** The server is shutting down: /readyz answers 503 from now on. */
    startDraining() {
      isDraining = true;
    },
    close: () => forwardAuth.close(),
  };
}
