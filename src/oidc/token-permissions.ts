import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RoleService } from '../permissions/role-service.ts';
import { type UserPermissions, userTokenClaims } from '../permissions/token-claims.ts';
import type { ResourceService } from '../resources/resource-service.ts';

type TokenLike = { kind?: string; accountId?: string; resourceServer?: { identifier(): string } };

/**
 * A user's roles and attributes where tokens are made: the scope cap of an --rbac API
 * (getResourceServerInfo, resources.ts) and the claims an API declared (extraTokenClaims).
 * Read from Postgres afresh for each token request, so a change shows at the very next token
 * or refresh; only for APIs that use them (never for client credentials), and once per request
 * however often oidc-provider asks (/auth and /token each ask more than once).
 */
export function createTokenPermissions(deps: { resources: Pick<ResourceService, 'find'>; roles: Pick<RoleService, 'forToken'> }) {
  const perRequest = new WeakMap<object, Map<string, Promise<UserPermissions>>>();

  const of = (ctx: object, accountId: string, resource: string): Promise<UserPermissions> => {
    let known = perRequest.get(ctx);
    if (!known) perRequest.set(ctx, (known = new Map()));
    const key = JSON.stringify([accountId, resource]);
    let found = known.get(key);
    if (!found) known.set(key, (found = deps.roles.forToken(accountId, resource)));
    return found;
  };

  return {
    of,
    /**
     * Whose token this request makes: the user (an account id), `null` for a client's own token
     * (client credentials: its registered scopes are its permissions), or undefined while no
     * user is known yet (/auth before sign-in, PAR): then roles grant nothing.
     */
    userOf(ctx: KoaContextWithOIDC): string | null | undefined {
      if (ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials') return null;
      // The token endpoint knows the account of the code or refresh token (entities.Account);
      // /auth and its resume know the session's.
      return (ctx.oidc.entities?.Account as { accountId?: string } | undefined)?.accountId ?? ctx.oidc.session?.accountId;
    },
    /** extraTokenClaims' part: the claims a user's access token for an API declares. */
    async claimsFor(ctx: object, token: TokenLike): Promise<Record<string, unknown> | undefined> {
      if (token.kind !== 'AccessToken' || !token.accountId || !token.resourceServer) return undefined;
      const api = await deps.resources.find(token.resourceServer.identifier());
      if (!api?.tokenClaims.length) return undefined;
      return userTokenClaims(api.tokenClaims, await of(ctx, token.accountId, api.identifier));
    },
  };
}

export type TokenPermissions = ReturnType<typeof createTokenPermissions>;
