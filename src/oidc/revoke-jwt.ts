import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationList } from '../revocation/revocation-list.ts';
import { FormTooLarge, readProtocolForm, rejectTooLarge, setProtocolForm, single } from './protocol-form.ts';

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * RFC 7009 revocation of our JWT access tokens, which oidc-provider refuses (it never stores
 * them). As with introspection, the library still authenticates the client: the JWT is swapped
 * for an unknown value (the library answers 200), and then, if the token is ours and was issued
 * to this client, its jti goes on the revocation list until the token would have expired.
 * A token of another client is ignored with the same 200, as the library does (RFC 7009 §2.2).
 */
export function revokeJwt(options: {
  issuer: string;
  path: string;
  publicJwks: JSONWebKeySet;
  revocations: RevocationList;
  /** After a token was revoked: a JWT put on the list, or a stored token the library destroyed (the audit trail). */
  onRevoked?: (ctx: KoaContextWithOIDC, token: { kind: string; jti?: string; accountId?: string; clientId: string }) => void;
}): Middleware {
  const keys = createLocalJWKSet(options.publicJwks);
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.path) return next();
    let form: URLSearchParams | undefined;
    try {
      form = await readProtocolForm(ctx);
    } catch (err) {
      if (err instanceof FormTooLarge) return rejectTooLarge(ctx);
      throw err;
    }
    const token = form && single(form, 'token');
    if (!token || !JWT_SHAPE.test(token)) {
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
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: options.issuer, typ: 'at+jwt', algorithms: ['RS256'] });
      if (payload.client_id !== caller.clientId || !payload.jti || !payload.exp) return;
      await options.revocations.record({ type: 'token', jti: payload.jti, exp: payload.exp });
      options.onRevoked?.(ctx as unknown as KoaContextWithOIDC, { kind: 'AccessToken', jti: payload.jti, accountId: payload.sub, clientId: caller.clientId });
    } catch {
      // Not ours, tampered or already expired: nothing to revoke (still 200, RFC 7009 §2.2).
    }
  };
}
