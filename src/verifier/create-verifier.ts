import { CLOCK_SKEW_SECONDS, createAccessTokenCheck } from './access-token-check.ts';
import { createJwksCache } from './jwks-cache.ts';
import { expressMetadataMiddleware, expressMiddleware, koaMetadataMiddleware, koaMiddleware } from './middleware.ts';
import { createMemoryReplayGuard } from './replay-cache.ts';
import { protectedResourceMetadata, resourceMetadataUrl } from './resource-metadata.ts';
import { followRevocations } from './revocation-follower.ts';
import type { AccessTokenClaims, Verifier, VerifierAlgorithm, VerifierOptions, VerifyRequest } from './types.ts';
import { missingToken, refusal, withResourceMetadata } from './verification-error.ts';

const ALLOWED_ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256', 'EdDSA'] satisfies VerifierAlgorithm[];
/** On an unknown kid, refetch the JWKS at most this often. */
const UNKNOWN_KID_COOLDOWN_MS = 10_000;
const DEFAULT_MAX_REPLAY_ENTRIES = 100_000;

const consoleLogger = { warn: (obj: object, msg?: string) => console.warn(`[gatehouse/verifier] ${msg ?? ''}`, obj) };

/**
 * Verifies Gatehouse's RFC 9068 access tokens offline, with the same check Gatehouse itself
 * uses (access-token-check.ts): signature against the issuer's JWKS (cached as it allows),
 * pinned algorithms, `typ: at+jwt`, iss, aud, exp, nbf and iat within a small clock skew, the
 * DPoP proof of a bound token (RFC 9449), and, with `revocation` set, the revocation feed
 * followed in the background.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { issuer } = options;
  if (!issuer) throw new TypeError('createVerifier: issuer is required');
  const audience = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || !a)) throw new TypeError('createVerifier: audience is required');
  const algorithms = options.algorithms ?? ['RS256'];
  // Never 'none', never HS* (a public key used as an HMAC secret would verify forged tokens).
  const refused = algorithms.find((a) => !ALLOWED_ALGORITHMS.includes(a));
  if (refused !== undefined || algorithms.length === 0) throw new TypeError(`createVerifier: algorithm ${refused} is not allowed`);
  const clockTolerance = options.clockToleranceSeconds ?? CLOCK_SKEW_SECONDS;
  const logger = options.logger ?? consoleLogger;
  const getFetch = () => options.fetch ?? globalThis.fetch;
  const realm = issuer;
  const base = issuer.replace(/\/+$/, ''); // for the default URLs; iss itself is matched exactly
  const closing = new AbortController();
  const resourceMetadata = options.resourceMetadata && describeResource(issuer, audience[0]!, options.resourceMetadata);

  // One warning per outage of each source, not one per attempt; nothing once closing.
  const outage = (what: string) => {
    let isFailing = false;
    return {
      ok: () => {
        isFailing = false;
      },
      failed: (err: Error) => {
        if (isFailing || closing.signal.aborted) return;
        isFailing = true;
        logger.warn({ err: err.message }, `${what} unreachable, retrying: verifying with what was last fetched, if anything`);
      },
    };
  };
  const jwksOutage = outage('JWKS');
  const jwks = createJwksCache({
    uri: options.jwksUri ?? `${base}/jwks`,
    fetch: getFetch,
    unknownKidCooldownMs: UNKNOWN_KID_COOLDOWN_MS,
    signal: closing.signal,
    onFetched: jwksOutage.ok,
    onFailed: jwksOutage.failed,
  });
  const feedOutage = outage('revocation feed');
  const revocations =
    options.revocation &&
    followRevocations({
      feedUrl: options.revocation.feedUrl ?? `${base}/revocations`,
      clientId: options.revocation.clientId,
      clientSecret: options.revocation.clientSecret,
      pollIntervalMs: options.revocation.pollIntervalMs ?? 5000,
      fetch: getFetch,
      signal: closing.signal,
      onSynced: feedOutage.ok,
      onFailed: feedOutage.failed,
    });
  const started = Promise.all([jwks.refresh().catch(() => {}), revocations?.firstSync]).then(() => {});

  const check = createAccessTokenCheck({
    issuer,
    algorithms,
    getKey: jwks.getKey,
    clockToleranceSeconds: clockTolerance,
    isRevoked: revocations ? (facts) => revocations.isRevoked(facts) : undefined,
    dpopReplay: createMemoryReplayGuard({ maxEntries: options.dpop?.maxReplayEntries ?? DEFAULT_MAX_REPLAY_ENTRIES }),
  });

  async function verify(token: string, request: VerifyRequest = {}): Promise<AccessTokenClaims> {
    if (typeof token !== 'string' || token === '') throw withResourceMetadata(missingToken(realm), resourceMetadata?.url);
    const presentation = request.scheme === 'DPoP' ? request : { scheme: 'Bearer' as const };
    const result = await check(token, { audience, presentation });
    if (!result.isValid) throw withResourceMetadata(refusal(realm, result), resourceMetadata?.url);
    const { payload } = result;
    return {
      sub: payload.sub,
      client_id: payload.client_id,
      scope: payload.scope ? payload.scope.split(' ').filter(Boolean) : [],
      aud: payload.aud!,
      iss: payload.iss,
      exp: payload.exp,
      iat: payload.iat,
      jti: payload.jti,
      gid: payload.gid,
      roles: payload.roles ?? [],
      cnf: payload.cnf,
      claims: payload,
    };
  }

  function requireMetadata() {
    if (!resourceMetadata) throw new TypeError('createVerifier: the resourceMetadata option is needed to serve protected resource metadata');
    return resourceMetadata;
  }

  return {
    verify,
    koa: (o = {}) => koaMiddleware(verify, o, options.dpop?.origin, resourceMetadata?.url),
    express: (o = {}) => expressMiddleware(verify, o, options.dpop?.origin, resourceMetadata?.url),
    resourceMetadata,
    koaMetadata: () => koaMetadataMiddleware(requireMetadata().url, requireMetadata().document),
    expressMetadata: () => expressMetadataMiddleware(requireMetadata().url, requireMetadata().document),
    ready: () => started,
    async close() {
      closing.abort();
      await revocations?.stop();
    },
  };
}

/** RFC 9728: this API's metadata document and its URL. */
function describeResource(issuer: string, firstAudience: string, o: NonNullable<VerifierOptions['resourceMetadata']>) {
  const resource = o.resource ?? firstAudience;
  const url = o.url ?? resourceMetadataUrl(resource);
  if (!url) throw new TypeError('createVerifier: resourceMetadata.url is required for a resource that is not an http(s) URL');
  const document = protectedResourceMetadata({ resource, issuer, scopes: o.scopesSupported, name: o.resourceName, documentation: o.resourceDocumentation });
  return { url, document };
}
