import type { Middleware } from 'koa';
import { sendOAuthError } from '../http/oauth-error.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import { protectedResourceMetadata } from '../verifier/resource-metadata.ts';

const PATH = '/resource-metadata';

/**
 * RFC 9728 metadata for an API behind a gateway that uses /forward-auth: `GET
 * /resource-metadata?audience=API` answers the document the gateway serves at the API's own
 * `/.well-known/oauth-protected-resource…` (the document must come from the API's origin, §3.3,
 * so the gateway proxies that path here). Only registered APIs, with their scopes.
 */
export function resourceMetadataEndpoint(deps: { issuer: string; resources: Pick<ResourceService, 'find'> }): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      return;
    }
    const audience = typeof ctx.query.audience === 'string' ? ctx.query.audience : undefined;
    const api = audience && audience.length <= 2048 ? await deps.resources.find(audience) : undefined;
    if (!api) {
      return sendOAuthError(ctx, 404, 'not_found', 'no such API');
    }
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.body = protectedResourceMetadata({ resource: api.identifier, issuer: deps.issuer, scopes: api.scopes });
  };
}
