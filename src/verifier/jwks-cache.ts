import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** A fetch that failed is retried no sooner than this, whatever the verify traffic. */
const RETRY_AFTER_FAILURE_MS = 10_000;
/** Sooner while there are no keys at all (the API started before the issuer): nothing verifies. */
const RETRY_WITHOUT_KEYS_MS = 1_000;
/** Without a usable max-age; and the bounds we keep any max-age within. */
const DEFAULT_MAX_AGE_SECONDS = 300;
const MIN_MAX_AGE_SECONDS = 10;
const MAX_MAX_AGE_SECONDS = 86_400;
const FETCH_TIMEOUT_MS = 5_000;

export type JwksCache = {
  /** A jose key resolver for jwtVerify. */
  getKey: JWTVerifyGetKey;
  /** Fetches now (coalesced with a fetch under way). Rejects if the fetch fails. */
  refresh(): Promise<void>;
};

/**
 * The issuer's JWKS, kept in memory for as long as its `Cache-Control: max-age` allows.
 * (jose's createRemoteJWKSet ignores the header and uses fixed timings.)
 *
 * - Keys past their max-age keep verifying while a refetch runs in the background, so
 *   requests never wait on the issuer once the first fetch has succeeded, and an issuer that
 *   is down does not stop verification.
 * - A token whose `kid` is unknown triggers a refetch, since keys rotate; but at most one per
 *   `unknownKidCooldownMs`, so a flood of forged kids cannot turn into a flood of fetches.
 */
export function createJwksCache(deps: {
  uri: string;
  fetch: () => typeof fetch;
  unknownKidCooldownMs: number;
  signal: AbortSignal;
  onFetched(): void;
  onFailed(err: Error): void;
}): JwksCache {
  let keys: JWTVerifyGetKey | undefined;
  let staleAt = 0; // Date.now() after which a verify starts a background refetch
  let lastUnknownKidFetch = -Infinity;
  let inFlight: Promise<void> | undefined;

  const fetchKeys = async () => {
    try {
      const res = await deps.fetch()(deps.uri, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([deps.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]),
      });
      if (!res.ok) throw new Error(`GET ${deps.uri} answered ${res.status}`);
      keys = createLocalJWKSet((await res.json()) as JSONWebKeySet); // throws on a malformed set
      staleAt = Date.now() + freshSeconds(res.headers) * 1000;
      deps.onFetched();
    } catch (err) {
      staleAt = Date.now() + (keys ? RETRY_AFTER_FAILURE_MS : RETRY_WITHOUT_KEYS_MS); // keep the keys we have
      deps.onFailed(err as Error);
      throw err;
    }
  };

  // Concurrent callers share one fetch.
  const refresh = () => {
    if (!inFlight) {
      const current = fetchKeys();
      inFlight = current;
      void current
        .catch(() => {})
        .finally(() => {
          if (inFlight === current) inFlight = undefined;
        });
    }
    return inFlight;
  };

  return {
    refresh,
    async getKey(header, token) {
      if (!keys) {
        if (Date.now() < staleAt && !inFlight) throw new Error('no signing keys: the JWKS fetch failed');
        await refresh(); // nothing cached yet: this request has to wait
      } else if (Date.now() >= staleAt) void refresh().catch(() => {});
      try {
        return await keys!(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        // Unknown kid: wait for a fetch under way, or start one if the cooldown allows.
        if (inFlight) await inFlight.catch(() => {});
        else if (Date.now() - lastUnknownKidFetch < deps.unknownKidCooldownMs) throw err;
        else {
          lastUnknownKidFetch = Date.now();
          await refresh().catch(() => {});
        }
        return keys!(header, token);
      }
    },
  };
}

/** Seconds the response may be used for (RFC 9111 §4.2.1): max-age less Age, within bounds. */
function freshSeconds(headers: Headers): number {
  const cacheControl = headers.get('cache-control') ?? '';
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cacheControl)?.[1];
  const noCache = /(?:^|,)\s*(?:no-cache|no-store)\b/i.test(cacheControl);
  const seconds = noCache ? 0 : maxAge !== undefined ? Number(maxAge) - (Number(headers.get('age')) || 0) : DEFAULT_MAX_AGE_SECONDS;
  return Math.min(MAX_MAX_AGE_SECONDS, Math.max(MIN_MAX_AGE_SECONDS, seconds));
}
