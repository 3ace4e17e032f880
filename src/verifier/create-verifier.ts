import { errors, jwtVerify, type JWTPayload } from 'jose';
import { createJwksCache } from './jwks-cache.ts';
import { koaMiddleware, expressMiddleware } from './middleware.ts';
import { followRevocations } from './revocation-follower.ts';
import type { AccessTokenClaims, Verifier, VerifierAlgorithm, VerifierOptions } from './types.ts';
import { invalidToken, missingToken } from './verification-error.ts';

const ALLOWED_ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256', 'EdDSA'] satisfies VerifierAlgorithm[];
/** On an unknown kid, refetch the JWKS at most this often. */
const UNKNOWN_KID_COOLDOWN_MS = 10_000;
/** Longer than any sane JWT; refused before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;
/** Three base64url parts (RFC 7515 §7.1); also keeps the token within RFC 6750's b64token. */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;
/** What every Gatehouse access token carries (RFC 9068 §2.2, less aud: checked by jose). */
const REQUIRED_CLAIMS = ['iss', 'sub', 'client_id', 'exp', 'iat'];

const consoleLogger = { warn: (obj: object, msg?: string) => console.warn(`[gatehouse/verifier] ${msg ?? ''}`, obj) };

/**
 * Verifies Gatehouse's RFC 9068 access tokens offline: signature against the issuer's JWKS
 * (cached as it allows), pinned algorithms, `typ: at+jwt`, iss, aud, exp, nbf and iat within a
 * small clock skew, and, with `revocation` set, the revocation feed followed in the background.
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
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const logger = options.logger ?? consoleLogger;
  const getFetch = () => options.fetch ?? globalThis.fetch;
  const realm = issuer;
  const base = issuer.replace(/\/+$/, ''); // for the default URLs; iss itself is matched exactly
  const closing = new AbortController();

  // One warning per outage of each source, not one per attempt; nothing once closing.
  const outage = (what: string) => {
    let isFailing = false;
    return {
      ok: () => { isFailing = false; },
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
  const revocations = options.revocation && followRevocations({
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

  async function verify(token: string): Promise<AccessTokenClaims> {
    if (typeof token !== 'string' || token === '') throw missingToken(realm);
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalidToken(realm, 'the token is not a JWT');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks.getKey, {
        issuer,
        audience,
        algorithms,
        typ: 'at+jwt', // RFC 9068 §4: refuse ID tokens and other JWTs signed by the same keys
        clockTolerance,
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (err) {
      throw invalidToken(realm, describe(err));
    }
    const { sub, client_id: clientId, scope, iat, jti, gid } = payload;
    if (typeof sub !== 'string' || typeof clientId !== 'string') throw invalidToken(realm, 'sub and client_id must be strings');
    // jose checks iat only against a maxTokenAge; a token from the future means a broken clock or a forgery.
    if (iat! > Date.now() / 1000 + clockTolerance) throw invalidToken(realm, 'the token was issued in the future');
    if (scope !== undefined && typeof scope !== 'string') throw invalidToken(realm, 'scope must be a string');
    const claims: AccessTokenClaims = {
      sub,
      client_id: clientId,
      scope: scope ? scope.split(' ').filter(Boolean) : [],
      aud: payload.aud!,
      iss: payload.iss!,
      exp: payload.exp!,
      iat: iat!,
      jti: typeof jti === 'string' ? jti : undefined,
      gid: typeof gid === 'string' ? gid : undefined,
      claims: payload,
    };
    if (revocations?.isRevoked(claims)) throw invalidToken(realm, 'the token has been revoked');
    return claims;
  }

  return {
    verify,
    koa: (o = {}) => koaMiddleware(verify, o),
    express: (o = {}) => expressMiddleware(verify, o),
    ready: () => started,
    async close() {
      closing.abort();
      await revocations?.stop();
    },
  };
}

/** A short reason for error_description; never the token's contents. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the token has no ${err.claim} claim`;
    if (err.claim === 'nbf') return 'the token is not valid yet';
    if (err.claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
    return `unexpected ${err.claim} claim`; // iss, aud, or a claim of the wrong type
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (err instanceof errors.JOSEError) return 'the token is malformed';
  return 'the signing keys could not be fetched';
}
