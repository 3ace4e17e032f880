import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { CLOCK_SKEW_SECONDS, createAccessTokenCheck, type AccessTokenCheckDeps } from '../verifier/access-token-check.ts';
import type { DpopReplayGuard } from '../verifier/dpop-proof.ts';

/** What Gatehouse signs its access tokens with (provider-configuration's resource servers). */
const OWN_ALGORITHMS = ['RS256'];

/**
 * The access-token check (the verifier's own, src/verifier/access-token-check.ts) as Gatehouse
 * runs it on its own tokens: this build's published keys, RS256, the one clock skew. Each entry
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
    algorithms: OWN_ALGORITHMS,
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
