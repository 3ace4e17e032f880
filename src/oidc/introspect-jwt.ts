import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AccessTokenCheck } from '../verifier/access-token-check.ts';
import { mayIntrospect } from './introspection-policy.ts';
import { protocolFormOf, setProtocolForm, single } from './protocol-form.ts';
import { isStructuredToken } from './structured-token.ts';

/**
 * oidc-provider answers introspection of a structured (JWT) access token with
 * unsupported_token_type, since it never stores them (notes §10). This keeps its client
 * authentication and swaps the JWT for an unknown opaque value; when the library then answers
 * `{ active: false }` for an authenticated caller, the JWT gets the one access-token check
 * instead (RFC 7662), and the caller learns of it only if the policy lets it.
 */
export function introspectJwt(options: { path: string; check: AccessTokenCheck }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.path) return next();
    const form = protocolFormOf(ctx);
    const token = form && single(form, 'token');
    const isJwt = token !== undefined && isStructuredToken(token);
    if (isJwt) {
      form!.set('token', randomBytes(32).toString('base64url'));
      setProtocolForm(ctx, form!);
    }
    await next();

    const body = ctx.body as { active?: boolean } | undefined;
    if (!isJwt || ctx.status !== 200 || body?.active !== false) return;
    const caller = (ctx as unknown as KoaContextWithOIDC).oidc?.client;
    if (!caller) return;
    // At the issuer no audience or binding is required: the caller's policy decides, and a
    // binding is reported (RFC 9449 §6.2), not checked.
    const result = await options.check(token);
    // Invalid, expired, revoked or not the caller's to know: stays { active: false } (RFC 7662 §2.2).
    if (!result.isValid) return;
    const { client_id, scope, exp, iat, nbf, sub, aud, iss, jti, cnf } = result.payload;
    if (!mayIntrospect(caller, { clientId: client_id, audience: aud, isRefreshToken: false })) return;
    ctx.body = {
      active: true,
      token_type: cnf ? 'DPoP' : 'Bearer',
      client_id,
      scope,
      exp,
      iat,
      nbf,
      sub,
      aud,
      iss,
      jti,
      ...(cnf ? { cnf: { jkt: cnf.jkt } } : {}),
    };
  };
}
