import type { JSONWebKeySet } from 'jose';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../http/metrics.ts';
import { sendOAuthError } from '../http/oauth-error.ts';
import { createOwnTokenCheck } from '../oidc/own-token-check.ts';
import type { RevocationList, TokenFacts } from '../revocation/revocation-list.ts';
import { createRevocationMirror } from '../revocation/revocation-mirror.ts';
// The verifier library's challenges, so an API behind a gateway and one using the library answer alike.
import { missingToken, refusal, VerificationError, withResourceMetadata } from '../verifier/verification-error.ts';

const PATH = '/forward-auth';
const BEARER = /^Bearer +([\w\-.~+/]+=*) *$/i; // RFC 6750 §2.1 (b64token)
const VERIFIED_CACHE_SIZE = 10_000;

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
 * The protected API's identifier comes from the query (`?audience=…&scope=a+b&role=editor`), which
 * the gateway configuration fixes. Envoy's `path_prefix` appends the client's path to ours, so
 * under `/forward-auth/…` the query belongs to the client and the values come from the headers
 * `X-Forward-Auth-Audience` / `-Scope` / `-Role` that Envoy adds (`headers_to_add`).
 */
export function createForwardAuth(deps: {
  issuer: string;
  revocations: RevocationList;
  logger: Logger;
  metrics: Metrics;
  /** How often the revocation mirror follows the feed: the delay before a revocation bites here. */
  pollIntervalMs?: number;
}): ForwardAuth {
  // Started by the first request, so instances that never serve as an auth backend never poll.
  const realm = deps.issuer; // the protection space, as the verifier library names it
  const mirror = createRevocationMirror({ revocations: deps.revocations, logger: deps.logger, pollIntervalMs: deps.pollIntervalMs ?? 1000 });
  const isRevoked = async (facts: TokenFacts) => {
    const known = mirror.isRevoked(facts);
    if (known !== undefined) return known;
    await mirror.start();
    return mirror.isRevoked(facts); // still undefined: the check fails closed (503)
  };

  return {
    middleware(publicJwks) {
      // The one access-token check, with a cache: a token's signature and fixed claims are
      // checked once; exp, audience, binding and revocation on every use. Per key set, so a key
      // change (or a revoked key) starts afresh.
      const check = createOwnTokenCheck({ issuer: deps.issuer, publicJwks, isRevoked, verifiedCacheSize: VERIFIED_CACHE_SIZE });

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
        const requiredRole = (isQueryMode ? single(ctx.query.role) : ctx.get('x-forward-auth-role')) ?? '';
        if (!audience) {
          // A gateway misconfiguration, never the client's doing: not a 401 the client could fix.
          return reply(ctx, 400, 'invalid_request', 'the audience parameter is required');
        }
        // RFC 9728 §5.1: when the gateway names where it serves the API's metadata (proxied from
        // /resource-metadata), challenges carry it, so a client that meets the 401 finds Gatehouse.
        const metadataUrl = isQueryMode ? single(ctx.query.resource_metadata) : ctx.get('x-forward-auth-resource-metadata') || undefined;
        if (metadataUrl !== undefined && !isHttpUrl(metadataUrl)) {
          return reply(ctx, 400, 'invalid_request', 'resource_metadata must be an http(s) URL');
        }
        const refuse = (c: Context, err: VerificationError) => refuseWith(c, withResourceMetadata(err, metadataUrl));
        const match = BEARER.exec(ctx.get('authorization'));
        // RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
        if (!match) return refuse(ctx, missingToken(realm));

        // A DPoP-bound token is refused as a bearer token (RFC 9449 §7.1): a gateway cannot forward its proof.
        const result = await check(match[1]!, { audience: [audience], presentation: { scheme: 'Bearer' } });
        if (!result.isValid && result.error === 'temporarily_unavailable') {
          ctx.set('Retry-After', '1');
          return reply(ctx, 503, 'temporarily_unavailable', result.description);
        }
        // Bearer challenges only: this endpoint offers no DPoP.
        if (!result.isValid) return refuse(ctx, refusal(realm, { ...result, isDpop: false }));
        const claims = result.payload;

        const granted = claims.scope ?? '';
        const required = requiredScope.split(' ').filter(Boolean);
        if (required.some((s) => !` ${granted} `.includes(` ${s} `))) {
          // RFC 6750 §3.1: name every scope the request needs, not just the missing ones.
          const error = new VerificationError({
            status: 403,
            code: 'insufficient_scope',
            description: 'the token lacks a required scope',
            realm,
            scope: required.join(' '),
          });
          return refuse(ctx, error);
        }
        // The token's `roles` claim (an API that asks for it: --token-claim roles); every role named.
        const roles = claims.roles ?? [];
        if (
          requiredRole
            .split(' ')
            .filter(Boolean)
            .some((r) => !roles.includes(r))
        ) {
          return refuse(ctx, new VerificationError({ status: 403, code: 'insufficient_scope', description: 'the token lacks a required role', realm }));
        }

        // All four always, even when empty, so a gateway overwrites any the client sent.
        ctx.set('X-Auth-Subject', claims.sub);
        ctx.set('X-Auth-Client-Id', claims.client_id);
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

const single = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
const isHttpUrl = (v: string) => v.length <= 2048 && /^https?:$/.test(URL.parse(v)?.protocol ?? '');

function reply(ctx: Context, status: number, error: string, description: string): number {
  sendOAuthError(ctx, status, error, description);
  return status;
}

function refuseWith(ctx: Context, err: VerificationError): number {
  ctx.set('WWW-Authenticate', err.wwwAuthenticate);
  return reply(ctx, err.status, err.code, err.description);
}
