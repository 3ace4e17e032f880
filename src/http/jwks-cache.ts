import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * oidc-provider sends the JWKS without caching headers. Resource servers cache it for the
 * max-age we announce here, and key rotation waits that long before a new key signs.
 */
export function jwksCacheControl(maxAgeSeconds: number): Middleware {
  return async (ctx, next) => {
    await next();
    if ((ctx as unknown as KoaContextWithOIDC).oidc?.route === 'jwks' && ctx.status === 200) {
      ctx.set('Cache-Control', `public, max-age=${maxAgeSeconds}`);
    }
  };
}
