import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { checkDpopProof, type DpopReplayGuard } from './dpop-proof.ts';

/**
 * The one check of a Gatehouse access token (RFC 9068), shared by every place that accepts one:
 * gatehouse/verifier, and on the server the admin API, /forward-auth, introspection and
 * revocation. It lives in the verifier's folder because the verifier ships on its own (built by
 * tsconfig.verifier.json): it may import nothing but jose and Node's own modules.
 */

/** The clock skew allowed for exp, nbf and iat: the verifier's default and the server's setting. */
export const CLOCK_SKEW_SECONDS = 5;
/** Longer than any sane JWT; refused before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;
/** Three base64url parts (RFC 7515 §7.1); an empty signature gets as far as the algorithm check. */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;
/** RFC 9068 §2.2. */
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'exp', 'iat', 'jti'];
// jose's own time checks are off (time is checked on every use, cached tokens too, with one rule).
const NO_JOSE_TIME_CHECK = Number.MAX_SAFE_INTEGER;

export type AccessTokenPayload = JWTPayload & {
  iss: string;
  sub: string;
  client_id: string;
  exp: number;
  iat: number;
  jti: string;
  scope?: string;
  gid?: string;
  /** The user's roles at the token's API, when the API asks for them (Gatehouse's `--token-claim roles`). */
  roles?: string[];
  /** RFC 9449 §6.1: the thumbprint of the key the token is bound to. */
  cnf?: { jkt: string };
};

/** What revocation events can match (README "Revocation"). */
export type RevocationFacts = { jti: string; gid?: string; sub: string; iat: number; clientId: string; aud: string[] };

/** How the token came to a resource server (RFC 6750 Bearer, or RFC 9449 DPoP with its proof). */
export type TokenPresentation = { scheme: 'Bearer' } | { scheme: 'DPoP'; proof: string | undefined; method: string; url: string };

export type CheckFailure = {
  isValid: false;
  error: 'invalid_token' | 'invalid_dpop_proof' | 'temporarily_unavailable';
  /** A short reason for error_description; never the token's contents. */
  description: string;
  /** The answer's challenge should use the DPoP scheme (RFC 9449 §7.1). */
  isDpop: boolean;
};
export type CheckResult = { isValid: true; payload: AccessTokenPayload } | CheckFailure;

export type AccessTokenCheckDeps = {
  issuer: string;
  algorithms: readonly string[];
  getKey: JWTVerifyGetKey;
  clockToleranceSeconds: number;
  /** Undefined: the list is not known (yet), and nothing is valid until it is. */
  isRevoked?: (facts: RevocationFacts) => boolean | undefined | Promise<boolean | undefined>;
  /** Where DPoP proof ids are remembered, for RFC 9449 §11.1 replay detection. */
  dpopReplay?: DpopReplayGuard;
  /** Keeps this many verified tokens, so a reused token skips the signature. Only for a fixed key set. */
  verifiedCacheSize?: number;
};

export type CheckOptions = {
  /** The audiences a resource server accepts. Omitted at the issuer, where the caller's policy decides. */
  audience?: readonly string[];
  /** Omitted at the issuer: the binding is reported there, not checked (RFC 9449 §6.2). */
  presentation?: TokenPresentation;
  /** Revoking a token: one already revoked may be revoked again (RFC 7009 §2.2 answers 200 alike). */
  isRevocationIgnored?: boolean;
};

const fail = (description: string, isDpop = false, error: CheckFailure['error'] = 'invalid_token'): CheckFailure => ({
  isValid: false,
  error,
  description,
  isDpop,
});

export function createAccessTokenCheck(deps: AccessTokenCheckDeps) {
  const tolerance = deps.clockToleranceSeconds;
  const verified = new Map<string, AccessTokenPayload>();
  const cacheSize = deps.verifiedCacheSize ?? 0;

  /** Signature, algorithm, typ, iss and the claims' shapes: fixed for the token's lifetime. */
  const verifySignature = async (token: string): Promise<{ isValid: true; payload: AccessTokenPayload } | CheckFailure> => {
    const known = verified.get(token);
    if (known) return { isValid: true, payload: known };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, deps.getKey, {
        issuer: deps.issuer,
        algorithms: [...deps.algorithms],
        typ: 'at+jwt', // RFC 9068 §4: never an ID token or another JWT signed by the same keys
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: NO_JOSE_TIME_CHECK,
      }));
    } catch (err) {
      return fail(describe(err));
    }
    // They become header values and map keys: strings only.
    if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string') return fail('sub and client_id must be strings');
    if (typeof payload.jti !== 'string') return fail('unexpected jti claim');
    if (payload.scope !== undefined && typeof payload.scope !== 'string') return fail('scope must be a string');
    if (payload.gid !== undefined && typeof payload.gid !== 'string') return fail('unexpected gid claim');
    const { roles } = payload as { roles?: unknown };
    if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) return fail('unexpected roles claim');
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string')) return fail('unexpected aud claim');
    const cnf = payload.cnf as { jkt?: unknown } | undefined;
    if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string')) return fail('unexpected cnf claim');
    const checked = payload as AccessTokenPayload;
    if (cacheSize > 0) {
      // Oldest first out: a Map iterates in insertion order.
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
      verified.set(token, checked);
    }
    return { isValid: true, payload: checked };
  };

  return async function check(token: string, options: CheckOptions = {}): Promise<CheckResult> {
    const presentation = options.presentation;
    const isDpopRequest = presentation?.scheme === 'DPoP';
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return fail('the token is not a JWT', isDpopRequest);
    const signed = await verifySignature(token);
    if (!signed.isValid) return { ...signed, isDpop: isDpopRequest };
    const { payload } = signed;
    const isDpop = isDpopRequest || payload.cnf !== undefined;

    // The same rule as RFC 7519 §4.1.4/§4.1.5 with a skew, on every use (a cached token too).
    const now = Math.floor(Date.now() / 1000);
    if (payload.exp <= now - tolerance) {
      verified.delete(token); // the cache keeps live tokens only
      return fail('the token has expired', isDpop);
    }
    if (typeof payload.nbf === 'number' && payload.nbf > now + tolerance) return fail('the token is not valid yet', isDpop);
    // jose checks iat only against a maxTokenAge; a token from the future is a broken clock or a forgery.
    if (payload.iat > now + tolerance) return fail('the token was issued in the future', isDpop);

    if (options.audience) {
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.some((a) => options.audience!.includes(a as string))) return fail('unexpected aud claim', isDpop);
    }

    if (presentation) {
      const jkt = payload.cnf?.jkt;
      // RFC 9449 §7.1: a bound token is worthless without a proof of its key.
      if (presentation.scheme === 'Bearer' && jkt) return fail('a DPoP-bound token cannot be used as a bearer token', true);
      if (presentation.scheme === 'DPoP') {
        if (!jkt) return fail('the DPoP scheme needs a DPoP-bound token', true);
        if (!deps.dpopReplay) return fail('DPoP is not supported here', true);
        const proofError = await checkDpopProof({
          proof: presentation.proof,
          method: presentation.method,
          url: presentation.url,
          accessToken: token,
          jkt,
          clockToleranceSeconds: tolerance,
          replay: deps.dpopReplay,
        });
        if (proofError) return fail(proofError.description, true, proofError.error);
      }
    }

    if (deps.isRevoked && !options.isRevocationIgnored) {
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud!];
      const facts = { jti: payload.jti, gid: payload.gid, sub: payload.sub, iat: payload.iat, clientId: payload.client_id, aud };
      const isRevoked = await deps.isRevoked(facts);
      // Fail closed: until the revocation list has been read once, nothing is known to be valid.
      if (isRevoked === undefined) return fail('the revocation list is not loaded yet', isDpop, 'temporarily_unavailable');
      if (isRevoked) return fail('the token has been revoked', isDpop);
    }
    return { isValid: true, payload };
  };
}

export type AccessTokenCheck = ReturnType<typeof createAccessTokenCheck>;

/** A short reason for error_description; never the token's contents. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the token has no ${err.claim} claim`;
    if (err.claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
    return `unexpected ${err.claim} claim`; // iss, or a claim of the wrong type
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (err instanceof errors.JOSEError) return 'the token is malformed';
  return 'the signing keys could not be fetched';
}
