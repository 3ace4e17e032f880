import type { ProtectedResourceMetadata } from './resource-metadata.ts';
import type { AccessTokenClaims, ExpressMiddleware, ExpressRequestLike, KoaMiddleware, MiddlewareOptions, VerifyRequest } from './types.ts';
import { requireRole, requireScope, VerificationError, withResourceMetadata } from './verification-error.ts';

declare global {
  // Types `req.auth` in Express apps (merges with @types/express's global Express.Request).
  namespace Express {
    interface Request {
      auth?: AccessTokenClaims;
    }
  }
}

type Verify = (token: string, request?: VerifyRequest) => Promise<AccessTokenClaims>;

/**
 * The token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or '' when the request has no
 * bearer credentials at all. The query-string and form-body methods are not accepted: tokens in
 * URLs end up in logs.
 */
export function bearerToken(authorization: string | undefined): string {
  // "Bearer a b" comes back whole, for verify to refuse as malformed.
  return /^Bearer(?: +(.*))?$/i.exec(authorization?.trim() ?? '')?.[1]?.trim() ?? '';
}

/**
 * The scheme and token of an `Authorization` header: `Bearer` (RFC 6750 §2.1) or `DPoP`
 * (RFC 9449 §7.1); undefined when it has neither. "Bearer a b" comes back whole, for verify to
 * refuse as malformed.
 */
export function parseAuthorization(authorization: string | undefined): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = /^(Bearer|DPoP)(?: +(.*))?$/i.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]?.trim() ?? '' };
}

/** What the middleware knows of the request, for a DPoP proof's htm and htu. */
type RequestLine = { method: string; url: string };

async function authenticate(
  verify: Verify,
  authorization: string | undefined,
  proof: string | string[] | undefined,
  line: () => RequestLine,
  options: MiddlewareOptions,
) {
  const credentials = parseAuthorization(authorization);
  // RFC 9449 §4.3: exactly one DPoP header; two are refused as no valid proof.
  const request: VerifyRequest = credentials?.scheme === 'DPoP' ? { scheme: 'DPoP', proof: typeof proof === 'string' ? proof : undefined, ...line() } : {};
  const claims = await verify(credentials?.token ?? '', request);
  if (options.scope !== undefined) requireScope(claims, options.scope);
  if (options.role !== undefined) requireRole(claims, options.role);
  return claims;
}

const errorBody = (err: VerificationError) => ({ error: err.code, error_description: err.description });

export function koaMiddleware(verify: Verify, options: MiddlewareOptions, origin?: string, resourceMetadataUrl?: string): KoaMiddleware {
  return async (ctx, next) => {
    let claims: AccessTokenClaims;
    try {
      const line = () => ({ method: ctx.method, url: `${origin ?? `${ctx.protocol}://${ctx.host}`}${ctx.path}` });
      claims = await authenticate(verify, ctx.get('authorization') || undefined, ctx.get('dpop') || undefined, line, options);
    } catch (caught) {
      if (!(caught instanceof VerificationError)) throw caught;
      const err = withResourceMetadata(caught, resourceMetadataUrl);
      ctx.status = err.status;
      ctx.set('WWW-Authenticate', err.wwwAuthenticate);
      ctx.body = errorBody(err);
      return;
    }
    ctx.state.auth = claims;
    await next();
  };
}

export function expressMiddleware(verify: Verify, options: MiddlewareOptions, origin?: string, resourceMetadataUrl?: string): ExpressMiddleware {
  return (req, res, next) => {
    authenticate(verify, req.headers.authorization, req.headers.dpop, () => expressRequestLine(req, origin), options).then(
      (claims) => {
        req.auth = claims;
        next();
      },
      (caught: unknown) => {
        if (!(caught instanceof VerificationError)) return next(caught);
        const err = withResourceMetadata(caught, resourceMetadataUrl);
        // Plain node:http calls, so it works under Express, connect or a bare server.
        res.statusCode = err.status;
        res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(errorBody(err)));
      },
    );
  };
}

function expressRequestLine(req: ExpressRequestLike, origin: string | undefined): RequestLine {
  const path = (req.originalUrl ?? req.url ?? '/').split(/[?#]/)[0]!;
  return { method: req.method ?? 'GET', url: `${origin ?? `${req.protocol ?? 'http'}://${req.headers.host ?? ''}`}${path}` };
}

/**
 * Serves the RFC 9728 document at its well-known path (a GET or HEAD there); anything else goes on.
 * Public and cacheable: it names only the resource, its authorization server and its scopes.
 */
export function koaMetadataMiddleware(url: string, document: ProtectedResourceMetadata): KoaMiddleware {
  const path = new URL(url).pathname;
  return async (ctx, next) => {
    if (ctx.path !== path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.set('Access-Control-Allow-Origin', '*'); // browser-based clients discover it too (RFC 9728 §3)
    ctx.status = 200;
    ctx.body = document;
  };
}

export function expressMetadataMiddleware(url: string, document: ProtectedResourceMetadata): ExpressMiddleware {
  const path = new URL(url).pathname;
  const body = JSON.stringify(document);
  return (req, res, next) => {
    const requested = (req.originalUrl ?? req.url ?? '/').split(/[?#]/)[0];
    if (requested !== path || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.end(req.method === 'HEAD' ? '' : body);
  };
}
