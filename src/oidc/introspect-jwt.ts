import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationList } from '../revocation/revocation-list.ts';
import { FormTooLarge, readProtocolForm, rejectTooLarge, setProtocolForm, single } from './protocol-form.ts';

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

type CallerMetadata = { clientId: string; can_introspect?: boolean };

/**
 * oidc-provider answers introspection of a structured (JWT) access token with
 * unsupported_token_type, since it never stores them (notes §10). This keeps its client
 * authentication and swaps the JWT for an unknown opaque value; when the library then answers
 * `{ active: false }` for an authenticated caller, the JWT is checked here instead (RFC 7662).
 */
export function introspectJwt(options: {
  issuer: string;
  path: string;
  publicJwks: JSONWebKeySet;
  revocations: RevocationList;
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
    const isJwt = token !== undefined && JWT_SHAPE.test(token);
    if (isJwt) {
      form!.set('token', randomBytes(32).toString('base64url'));
      setProtocolForm(ctx, form!);
    }
    await next();

    const body = ctx.body as { active?: boolean } | undefined;
    if (!isJwt || ctx.status !== 200 || body?.active !== false) return;
    const caller = (ctx as unknown as KoaContextWithOIDC).oidc?.client as unknown as CallerMetadata | undefined;
    if (!caller) return;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        typ: 'at+jwt', // RFC 9068 §4: never accept an ID token or another JWT as an access token
        algorithms: ['RS256'],
      });
      // Who may learn about a token: the client it was issued to, or an API's own client.
      if (payload.client_id !== caller.clientId && caller.can_introspect !== true) return;
      const { client_id, scope, exp, iat, sub, aud, iss, jti, gid } = payload as typeof payload & { gid?: string };
      if (await options.revocations.isRevoked({ jti, gid, sub, iat })) return;
      ctx.body = { active: true, token_type: 'Bearer', client_id, scope, exp, iat, sub, aud, iss, jti };
    } catch {
      // Invalid, expired, revoked or foreign: stays { active: false } (RFC 7662 §2.2).
    }
  };
}
