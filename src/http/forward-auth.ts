import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { createRevocationMirror } from '../revocation/revocation-mirror.ts';
import type { RevocationList } from '../revocation/revocation-list.ts';
// The verifier library's challenges, so an API behind a gateway and one using the library answer alike.
import { invalidToken, missingToken, VerificationError } from '../verifier/verification-error.ts';
import type { Metrics } from './metrics.ts';

const PATH = '/forward-auth';
const BEARER = /^Bearer +([\w\-.~+/]+=*) *$/i; // RFC 6750 §2.1 (b64token)
const VERIFIED_CACHE_SIZE = 10_000;

type AccessToken = JWTPayload & { client_id?: string; scope?: string; gid?: string; cnf?: { jkt?: string } };

export type ForwardAuth = {
  /** The endpoint for one Provider build: it verifies with that build's published keys. */
  middleware(publicJwks: JSONWebKeySet): Middleware;
  close(): Promise<void>;
};

/**
 * Gateway mode: `/forward-auth` answers nginx `auth_request`, Traefik ForwardAuth and Envoy
 * ext_authz (HTTP) with 200 and identity headers for a valid bearer token, or 401/403 with an
 * RFC 6750 challenge. It sits on every API request, so it touches no storage: keys are in memory
 * (each key change builds a new endpoint), revocations come from an in-memory mirror of the
 * feed, and it runs ahead of request logging (the gateway logs the request already).
 *
 * The protected API's identifier comes from the query (`?audience=…&scope=a+b`), which the
 * gateway configuration fixes. Envoy's `path_prefix` appends the client's path to ours, so under
 * `/forward-auth/…` the query belongs to the client and the two values come from the headers
 * `X-Forward-Auth-Audience` / `X-Forward-Auth-Scope` that Envoy adds (`headers_to_add`).
 */
export function createForwardAuth(deps: {
  issuer: string;
  revocations: RevocationList;
  logger: Logger;
  metrics: Metrics;
  clockToleranceSeconds: number;
  /** How often the revocation mirror follows the feed: the delay before a revocation bites here. */
  pollIntervalMs?: number;
}): ForwardAuth {
  // Started by the first request, so instances that never serve as an auth backend never poll.
  const realm = deps.issuer; // the protection space, as the verifier library names it
  const mirror = createRevocationMirror({ revocations: deps.revocations, logger: deps.logger, pollIntervalMs: deps.pollIntervalMs ?? 1000 });

  return {
    middleware(publicJwks) {
      const keys = createLocalJWKSet(publicJwks);
      // A token's signature and fixed claims are checked once; exp and revocation on every use.
      // Keyed by the whole token, per key set: a key change (or revoked key) starts afresh.
      const verified = new Map<string, AccessToken>();
      const verify = async (token: string): Promise<AccessToken> => {
        const known = verified.get(token);
        // The same test as jose's: expired once exp <= now - tolerance.
        if (known && known.exp! > Math.floor(Date.now() / 1000) - deps.clockToleranceSeconds) return known;
        if (known) verified.delete(token); // expired: verified again below, so jose says why
        const { payload } = await jwtVerify<AccessToken>(token, keys, {
          issuer: deps.issuer,
          typ: 'at+jwt', // RFC 9068 §4: never an ID token or another JWT
          algorithms: ['RS256'],
          clockTolerance: deps.clockToleranceSeconds,
          requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
        });
        // They become header values; and jose checks iat only against a maxTokenAge.
        if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string') throw new ClaimError('sub and client_id must be strings');
        if (payload.scope !== undefined && typeof payload.scope !== 'string') throw new ClaimError('scope must be a string');
        if (payload.iat! > Date.now() / 1000 + deps.clockToleranceSeconds) throw new ClaimError('the token was issued in the future');
        // Oldest first out: a Map iterates in insertion order.
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(token, payload);
        return payload;
      };

      return async (ctx, next) => {
        const path = ctx.path;
        if (path !== PATH && !path.startsWith(`${PATH}/`)) return next();
        const status = await answer(ctx, path === PATH);
        deps.metrics.requests.inc({ route: 'forward-auth', method: ctx.method, status: String(status) });
      };

      async function answer(ctx: Context, isQueryMode: boolean): Promise<number> {
        ctx.set('Cache-Control', 'no-store');
        const audience = isQueryMode ? single(ctx.query.audience) : ctx.get('x-forward-auth-audience') || undefined;
        const requiredScope = (isQueryMode ? single(ctx.query.scope) : ctx.get('x-forward-auth-scope')) ?? '';
        if (!audience) {
          // A gateway misconfiguration, never the client's doing: not a 401 the client could fix.
          return reply(ctx, 400, { error: 'invalid_request', error_description: 'the audience parameter is required' });
        }
        const match = BEARER.exec(ctx.get('authorization'));
        // RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
        if (!match) return refuse(ctx, missingToken(realm));

        let claims: AccessToken;
        try {
          claims = await verify(match[1]!);
        } catch (err) {
          return refuse(ctx, invalidToken(realm, describe(err)));
        }
        if (claims.aud !== audience && !(Array.isArray(claims.aud) && claims.aud.includes(audience))) {
          return refuse(ctx, invalidToken(realm, 'unexpected aud claim'));
        }
        // A DPoP-bound token is worthless without its proof (RFC 9449 §7.1), which a gateway does not forward.
        if (claims.cnf?.jkt) return refuse(ctx, invalidToken(realm, 'a DPoP-bound token cannot be used as a bearer token'));

        let isRevoked = mirror.isRevoked(claims);
        if (isRevoked === undefined) {
          await mirror.start();
          isRevoked = mirror.isRevoked(claims);
        }
        if (isRevoked === undefined) {
          // Fail closed: until the revocation list has been read once, nothing is known to be valid.
          ctx.set('Retry-After', '1');
          return reply(ctx, 503, { error: 'temporarily_unavailable', error_description: 'the revocation list is not loaded yet' });
        }
        if (isRevoked) return refuse(ctx, invalidToken(realm, 'the token has been revoked'));

        const granted = claims.scope ?? '';
        const required = requiredScope.split(' ').filter(Boolean);
        if (required.some((s) => !` ${granted} `.includes(` ${s} `))) {
          // RFC 6750 §3.1: name every scope the request needs, not just the missing ones.
          const error = new VerificationError({ status: 403, code: 'insufficient_scope', description: 'the token lacks a required scope', realm, scope: required.join(' ') });
          return refuse(ctx, error);
        }

        // All four always, even when empty, so a gateway overwrites any the client sent.
        ctx.set('X-Auth-Subject', claims.sub!);
        ctx.set('X-Auth-Client-Id', claims.client_id!);
        ctx.set('X-Auth-Scope', granted);
        ctx.set('X-Auth-Audience', audience);
        ctx.status = 200;
        ctx.body = '';
        return 200;
      }
    },

    close: () => mirror.stop(),
  };
}

/** A claim jose accepted but we cannot (its message is the error_description). */
class ClaimError extends Error {}

const single = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

function reply(ctx: Context, status: number, body: object): number {
  ctx.status = status;
  ctx.body = body;
  return status;
}

function refuse(ctx: Context, err: VerificationError): number {
  ctx.set('WWW-Authenticate', err.wwwAuthenticate);
  return reply(ctx, err.status, { error: err.code, error_description: err.description });
}

/** A short reason for error_description (the verifier library's wording); never the token's contents. */
function describe(err: unknown): string {
  if (err instanceof ClaimError) return err.message;
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the token has no ${err.claim} claim`;
    if (err.claim === 'nbf') return 'the token is not valid yet';
    if (err.claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
    return `unexpected ${err.claim} claim`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the signature is invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  return 'the token is malformed';
}
