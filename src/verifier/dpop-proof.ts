import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, type JWK, jwtVerify } from 'jose';

/** What a resource server accepts a DPoP proof signed with (never `none`, never HS*). */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;
/**
 * How old a proof may be (RFC 9449 §11.1: "a relatively brief period"). A proof is made for
 * one request, so a minute covers slow networks; replays within it are caught by its jti.
 */
export const DPOP_PROOF_MAX_AGE_SECONDS = 60;
const MAX_PROOF_LENGTH = 8_192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Remembers the proofs already used (RFC 9449 §11.1). `isFirstUse` records the id and answers
 * true only the first time, atomically, for at least ttlSeconds.
 */
export type DpopReplayGuard = { isFirstUse(id: string, ttlSeconds: number): boolean | Promise<boolean> };

export type DpopProofError = { error: 'invalid_dpop_proof' | 'invalid_token'; description: string };

const proofError = (description: string): DpopProofError => ({ error: 'invalid_dpop_proof', description });
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** The URL without query and fragment (RFC 9449 §4.2 `htu`), or undefined if it is not one. */
function targetUri(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const url = URL.parse(value);
  if (!url) return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}

/**
 * RFC 9449 §4.3 and §7.1: the checks a resource server makes of the DPoP proof that came with
 * a bound access token. Returns why it is refused, or undefined when it is good (and recorded).
 */
export async function checkDpopProof(input: {
  proof: string | undefined;
  method: string;
  url: string;
  accessToken: string;
  /** The token's cnf.jkt. */
  jkt: string;
  clockToleranceSeconds: number;
  replay: DpopReplayGuard;
}): Promise<DpopProofError | undefined> {
  const { proof } = input;
  if (!proof) return proofError('the request has no DPoP proof');
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) return proofError('the DPoP proof is not a JWT');
  let jwk: JWK;
  let payload: Record<string, unknown>;
  try {
    jwk = decodeProtectedHeader(proof).jwk as JWK;
    // EmbeddedJWK refuses a private key in the header; typ and the algorithm are pinned.
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS] }));
  } catch {
    return proofError('the DPoP proof is not a valid dpop+jwt signed with its jwk');
  }
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) return proofError('the DPoP proof has no valid jti');
  if (htm !== input.method) return proofError('the DPoP proof was made for another method (htm)');
  const expectedUri = targetUri(input.url);
  if (expectedUri === undefined || targetUri(htu) !== expectedUri) return proofError('the DPoP proof was made for another URL (htu)');
  const now = Math.floor(Date.now() / 1000);
  const skew = input.clockToleranceSeconds;
  if (typeof iat !== 'number' || iat < now - DPOP_PROOF_MAX_AGE_SECONDS - skew || iat > now + skew) {
    return proofError('the DPoP proof is too old or from the future (iat)');
  }
  // §4.3 step 11-12: the proof is for this very token, signed with the key the token is bound to.
  if (ath !== sha256(input.accessToken)) return proofError('the DPoP proof was made for another access token (ath)');
  if ((await calculateJwkThumbprint(jwk, 'sha256')) !== input.jkt) {
    return { error: 'invalid_token', description: 'the token is bound to another key than the DPoP proof' };
  }
  // Last, so only a proof good in every other way is remembered; kept until it would be too old anyway.
  const ttlSeconds = Math.max(1, iat + DPOP_PROOF_MAX_AGE_SECONDS + skew - now + 1);
  if (!(await input.replay.isFirstUse(sha256(`${input.jkt}:${jti}`), ttlSeconds))) return proofError('the DPoP proof has been used before');
  return undefined;
}
