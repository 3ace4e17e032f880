import { errors, type Grant, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { clientExtras } from '../clients/client-extras.ts';
import { isStandardScope } from '../clients/standard-scopes.ts';
import { NO_PERMISSIONS, roleScopes } from '../permissions/token-claims.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import type { TokenPermissions } from './token-permissions.ts';

/**
 * A user token for an API needs a consent that covers the API: its grant holds scopes of it
 * (a Grant keeps no empty resource entry, so "covers" is "has at least one scope"). Only at the
 * token endpoint, where the grant is known (ctx.oidc.entities.Grant: code exchange and refresh;
 * client_credentials has none). At /auth oidc-provider's consent prompt asks only for missing
 * scopes, so a resource asked for with none of its scopes was never put before the user.
 * First-party applications are never asked, so they are exempt.
 */
function isUncoveredUserGrant(ctx: KoaContextWithOIDC, indicator: unknown, client: unknown): boolean {
  const grant = ctx.oidc.entities?.Grant as Grant | undefined;
  if (!grant || typeof indicator !== 'string' || clientExtras(client).first_party === true) return false;
  return !grant.getResourceScope(indicator);
}

/**
 * Resource indicators (RFC 8707) are how oidc-provider decides a token is a JWT for an API
 * (notes §8). API scopes are never checked against the client by the library, so this is where
 * a client is held to the APIs and scopes it was registered for, and, for an API that checks
 * roles (--rbac), a user to the scopes their roles grant.
 */
export function createResourceIndicators(resources: Pick<ResourceService, 'find'>, permissions?: Pick<TokenPermissions, 'of' | 'userOf'>) {
  return {
    enabled: true,
    // The grant's resource decides the token's audience at the token endpoint, if the user's
    // consent covers it. If not, a request with openid falls back to a userinfo token (what the
    // consent page did show); without openid the resource still applies and is refused below.
    useGrantedResource: (ctx: KoaContextWithOIDC, model: { resource?: string | string[] }) => !isUncoveredUserGrant(ctx, model.resource, ctx.oidc.client),
    // A client with exactly one API gets it without sending `resource`, but only when it asks
    // for an API scope (or uses client_credentials): a plain sign-in (openid) keeps a userinfo token.
    defaultResource(ctx: KoaContextWithOIDC, client: unknown, oneOf?: string | string[]) {
      if (oneOf) return oneOf;
      const allowed = clientExtras(client).allowed_resources ?? [];
      if (allowed.length !== 1) return undefined;
      const isClientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
      const asksForApiScope = [...(ctx.oidc.requestParamScopes ?? [])].some((s) => !isStandardScope(s));
      return isClientCredentials || asksForApiScope ? allowed[0] : undefined;
    },
    async getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: unknown): Promise<ResourceServer> {
      const { allowed_resources = [], allowed_api_scopes = [] } = clientExtras(client);
      const api = allowed_resources.includes(indicator) ? await resources.find(indicator) : undefined;
      if (!api) throw new errors.InvalidTarget('resource indicator is unknown or not allowed for this client');
      if (isUncoveredUserGrant(ctx, indicator, client)) throw new errors.InvalidTarget('the user has not allowed this client to use this resource');
      let permitted = api.scopes.filter((s) => allowed_api_scopes.includes(s));
      const requested = [...(ctx.oidc.requestParamScopes ?? [])];
      const denied = requested.find((s) => api.scopes.includes(s) && !permitted.includes(s));
      if (denied) throw new errors.InvalidScope('requested scope is not allowed', denied);
      const user = api.isRbac && permissions ? permissions.userOf(ctx) : null;
      if (user !== null) {
        // A user token for an --rbac API: also only what the user's roles grant, silently
        // narrowed (as a scope the user may not have is left out, RFC 6749 §3.3). This cap is
        // applied at /auth (so the consent page and the grant ask only for that), and again at
        // every code exchange and refresh, where oidc-provider intersects it with the grant and
        // the refresh token's scope: a role taken away shows at the next token, and a refresh
        // never gains a scope the grant did not hold (RFC 6749 §6). No user known yet: nothing.
        const granted = roleScopes(user ? await permissions!.of(ctx, user, indicator) : NO_PERMISSIONS);
        permitted = permitted.filter((s) => granted.has(s));
      }
      return {
        // Caps what any token for this API can carry: its scopes this client was registered for
        // (and, for --rbac APIs, that the user's roles grant).
        scope: permitted.join(' '),
        audience: indicator,
        accessTokenTTL: api.accessTokenTtlSeconds,
        accessTokenFormat: 'jwt',
        // The API's choice; provider-configuration.ts keeps RS256 until that algorithm's key signs.
        jwt: { sign: { alg: api.signingAlg } },
      };
    },
  };
}
