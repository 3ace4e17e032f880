import type { AccessTokenClaims, ExpressMiddleware, KoaMiddleware, MiddlewareOptions } from './types.ts';
import { requireScope, VerificationError } from './verification-error.ts';

declare global {
  // Types `req.auth` in Express apps (merges with @types/express's global Express.Request).
  namespace Express {
    interface Request {
      auth?: AccessTokenClaims;
    }
  }
}

type Verify = (token: string) => Promise<AccessTokenClaims>;

/**
 * The token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or '' when the request has no
 * bearer credentials at all. The query-string and form-body methods are not accepted: tokens in
 * URLs end up in logs.
 */
export function bearerToken(authorization: string | undefined): string {
  // "Bearer a b" comes back whole, for verify to refuse as malformed.
  return /^Bearer(?: +(.*))?$/i.exec(authorization?.trim() ?? '')?.[1]?.trim() ?? '';
}

async function authenticate(verify: Verify, authorization: string | undefined, options: MiddlewareOptions) {
  const claims = await verify(bearerToken(authorization));
  if (options.scope !== undefined) requireScope(claims, options.scope);
  return claims;
}

const errorBody = (err: VerificationError) => ({ error: err.code, error_description: err.description });

export function koaMiddleware(verify: Verify, options: MiddlewareOptions): KoaMiddleware {
  return async (ctx, next) => {
    let claims: AccessTokenClaims;
    try {
      claims = await authenticate(verify, ctx.get('authorization') || undefined, options);
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      ctx.status = err.status;
      ctx.set('WWW-Authenticate', err.wwwAuthenticate);
      ctx.body = errorBody(err);
      return;
    }
    ctx.state.auth = claims;
    await next();
  };
}

export function expressMiddleware(verify: Verify, options: MiddlewareOptions): ExpressMiddleware {
  return (req, res, next) => {
    authenticate(verify, req.headers.authorization, options).then(
      (claims) => {
        req.auth = claims;
        next();
      },
      (err: unknown) => {
        if (!(err instanceof VerificationError)) return next(err);
        // Plain node:http calls, so it works under Express, connect or a bare server.
        res.statusCode = err.status;
        res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(errorBody(err)));
      },
    );
  };
}
