import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { type AccessTokenCheckDeps, CLOCK_SKEW_SECONDS, createAccessTokenCheck } from '../verifier/access-token-check.ts';
import type { DpopReplayGuard } from '../verifier/dpop-proof.ts';

/**
 * What Gatehouse signs its access tokens with: RS256, and ES256 or EdDSA for an API that chose
 * one. Only an algorithm this build publishes a key for is accepted, and every published key
 * names its `alg`, so a key is never used with another algorithm than its own (RFC 8725 §3.1).
 */
const algorithmsOf = (jwks: JSONWebKeySet) => [...new Set(jwks.keys.map((k) => k.alg).filter((a) => a !== undefined))];

/**
 * The access-token check (the verifier's own, src/verifier/access-token-check.ts) as Gatehouse
 * runs it on its own tokens: this build's published keys and their algorithms, the one clock skew. Each entry
 * point adds where its revocation state comes from (storage, or forward-auth's in-memory mirror).
 */
export function createOwnTokenCheck(deps: {
  issuer: string;
  publicJwks: JSONWebKeySet;
  isRevoked: AccessTokenCheckDeps['isRevoked'];
  dpopReplay?: DpopReplayGuard;
  verifiedCacheSize?: number;
}) {
  return createAccessTokenCheck({
    issuer: deps.issuer,
    algorithms: algorithmsOf(deps.publicJwks),
    getKey: createLocalJWKSet(deps.publicJwks),
    clockToleranceSeconds: CLOCK_SKEW_SECONDS,
    isRevoked: deps.isRevoked,
    dpopReplay: deps.dpopReplay,
    verifiedCacheSize: deps.verifiedCacheSize,
  });
}

/**
 * DPoP proof ids in the short-lived store (Redis, or Postgres without it), so a proof used at one
 * instance is refused at every other (RFC 9449 §11.1).
 */
export const sharedDpopReplay = (store: ShortLivedStore): DpopReplayGuard => ({
  isFirstUse: (id, ttlSeconds) => store.setIfAbsent(`dpop-proof:${id}`, '1', ttlSeconds),
});
