import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { sendOAuthError } from '../http/oauth-error.ts';
import { readJsonBody } from '../http/read-json.ts';
import type { ResourceServer } from '../resources/resource-service.ts';
import type { AccessTokenCheck } from '../verifier/access-token-check.ts';
import { VerificationError } from '../verifier/verification-error.ts';
import { ADMIN_SCOPE, AdminAuthError, createAdminAuth } from './admin-auth.ts';
import { type AdminServices, adminRoutes } from './admin-routes.ts';
import { openApiDocument } from './openapi.ts';

export const ADMIN_PREFIX = '/admin/v1';

/** The admin API's audience: an API of Gatehouse itself, built in (never stored). */
export const adminApiResource = (issuer: string): ResourceServer => ({
  identifier: `${issuer}/admin`,
  scopes: [ADMIN_SCOPE],
  accessTokenTtlSeconds: 300,
  isRbac: false,
  tokenClaims: [],
  signingAlg: 'RS256',
});

const _sendError = sendOAuthError;

/**
 * /admin/v1: JSON over the CLI's services, for automation holding a client_credentials token with
 * the admin scope. GET /admin/v1/openapi.json describes it (and needs no token).
 */
export function adminApi(deps: AdminServices & { issuer: string; accessTokenCheck: AccessTokenCheck; logger: Logger }): Middleware {
  const audience = adminApiResource(deps.issuer).identifier;
  const authenticate = createAdminAuth({ audience, check: deps.accessTokenCheck });
  const routes = adminRoutes(deps);
  const document = openApiDocument(routes, { issuer: deps.issuer, prefix: ADMIN_PREFIX, audience });
  const router = new Router({ prefix: ADMIN_PREFIX });

  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  for (const route of routes) {
    router[route.method](route.path, async (ctx) => {
      const caller = await authenticate({
        authorization: ctx.get('authorization'),
        dpop: ctx.get('dpop') || undefined,
        method: ctx.method,
        // RFC 9449 §4.3: htu is the URL the client called, i.e. at the issuer (never the Host header's idea).
        url: `${deps.issuer}${ctx.path}`,
      });
      const actor = { via: 'admin_api' as const, clientId: caller.clientId, ip: ctx.ip };
      const query = route.query ? parse(route.query, Object.fromEntries(new URLSearchParams(ctx.querystring)), 'query') : undefined;
      const body = route.body ? parse(route.body, await readJsonBody(ctx), 'body') : undefined;
      const result = await route.handle({ params: ctx.params as Record<string, string>, body, query, actor });
      if (route.action) {
        await deps.audit.record({ type: `admin.${route.action}`, clientId: caller.clientId, ip: ctx.ip, details: { path: ctx.path } });
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.status = route.status ?? 200;
      if (ctx.status !== 204) ctx.body = result;
    });
  }
  const handle = router.routes();
  const allowed = router.allowedMethods();

  return async (ctx, next) => {
    if (!ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    ctx.state.route = 'admin';
    try {
      await handle(ctx as Parameters<typeof handle>[0], async () => {
        await allowed(ctx as Parameters<typeof allowed>[0], async () => {});
      });
      if (ctx.status === 404 && !ctx.body) sendOAuthError(ctx, 404, 'not_found', 'no such admin endpoint');
    } catch (err) {
      if (err instanceof AdminAuthError) {
        // The verifier's challenge format (RFC 6750 §3, RFC 9449 §7.1), with this API as the realm.
        const challenge = new VerificationError({
          status: err.status,
          code: err.code ?? 'invalid_request',
          description: err.message,
          realm: audience,
          isTokenMissing: err.code === undefined,
          scope: err.status === 403 ? ADMIN_SCOPE : undefined,
          isDpop: err.isDpop,
        });
        ctx.set('WWW-Authenticate', challenge.wwwAuthenticate);
        return sendOAuthError(ctx, err.status, err.code ?? 'invalid_request', err.message);
      }
      if (err instanceof ServerBusy) ctx.set('Retry-After', String(err.retryAfterSeconds));
      if (err instanceof AppError) return sendOAuthError(ctx, err.status, err.code, err.message);
      if ((err as { status?: number }).status === 405) return sendOAuthError(ctx, 405, 'method_not_allowed', 'method not allowed');
      throw err;
    }
  };
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } },
  value: unknown,
  where: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.length ? `${where}.${issue.path.map(String).join('.')}` : where;
  throw new AppError('invalid_request', `${at}: ${issue.message}`);
}
