import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationList } from '../revocation/revocation-list.ts';
import type { AccessTokenCheck } from '../verifier/access-token-check.ts';
import { protocolFormOf, setProtocolForm, single } from './protocol-form.ts';
import { isStructuredToken } from './structured-token.ts';

/**
 * RFC 7009 revocation of our JWT access tokens, which oidc-provider refuses (it never stores
 * them). As with introspection, the library still authenticates the client: the JWT is swapped
 * for an unknown value (the library answers 200), and then, if the one access-token check takes
 * it and it was issued to this client, its jti goes on the revocation list until the token would
 * have expired. A token of another client is ignored with the same 200, as the library does
 * (RFC 7009 §2.2); so is an invalid one, whatever is wrong with it.
 */
export function revokeJwt(options: {
  path: string;
  check: AccessTokenCheck;
  revocations: RevocationList;
  /** After a token was revoked: a JWT put on the list, or a stored token the library destroyed (the audit trail). */
  onRevoked?: (ctx: KoaContextWithOIDC, token: { kind: string; jti?: string; accountId?: string; clientId: string }) => void;
}): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.path) return next();
    const form = protocolFormOf(ctx);
    const token = form && single(form, 'token');
    if (!token || !isStructuredToken(token)) {
      await next();
      // The library found and destroyed a stored token (its default policy: the caller's own).
      const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
      const found = (oidc?.entities.RefreshToken ?? oidc?.entities.AccessToken) as { kind: string; clientId?: string; accountId?: string } | undefined;
      if (ctx.status === 200 && found && oidc?.client && found.clientId === oidc.client.clientId) {
        options.onRevoked?.(ctx as unknown as KoaContextWithOIDC, { kind: found.kind, accountId: found.accountId, clientId: oidc.client.clientId });
      }
      return;
    }
    form!.set('token', randomBytes(32).toString('base64url'));
    setProtocolForm(ctx, form!);
    await next();

    const caller = (ctx as unknown as KoaContextWithOIDC).oidc?.client;
    if (ctx.status !== 200 || !caller) return;
    // No audience or binding is required: a client revokes its own tokens, bound ones included;
    // and one already revoked (say, with its grant) again: harmless, and the request is audited.
    const result = await options.check(token, { isRevocationIgnored: true });
    if (!result.isValid || result.payload.client_id !== caller.clientId) return;
    const { jti, exp, sub } = result.payload;
    await options.revocations.record({ type: 'token', jti, exp });
    options.onRevoked?.(ctx as unknown as KoaContextWithOIDC, { kind: 'AccessToken', jti, accountId: sub, clientId: caller.clientId });
  };
}
