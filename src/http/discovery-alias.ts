import type { Middleware } from 'koa';

/**
 * RFC 8414 metadata at /.well-known/oauth-authorization-server: oidc-provider serves only the
 * OpenID Connect document, a superset with the same meaning, so this path serves that one.
 */
export function discoveryAlias(): Middleware {
  return async (ctx, next) => {
    if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
    await next();
  };
}
