import type { Middleware } from 'koa';
import { clientExtras } from '../clients/client-extras.ts';
import { protocolFormOf } from '../oidc/protocol-form.ts';
import { parseBasicAuth } from './basic-auth.ts';
import { sendOAuthError } from './oauth-error.ts';

type Bucket = { tokens: number; updatedMs: number; perSecond: number };

/** The client id a token request names: HTTP Basic in any spelling of the scheme (RFC 6749 §2.3.1), or the form's client_id. */
function presentedClientId(authorization: string, form: URLSearchParams | undefined): string | undefined {
  return parseBasicAuth(authorization)?.clientId ?? form?.get('client_id') ?? undefined;
}

/**
 * Token requests per client per second, on this instance: a token bucket per client (burst =
 * twice the rate; the client's `token_rate_limit_per_second`, else the server's), in memory, so the hot path pays no round trip; with N instances a client gets
 * up to N times the rate. Only requests that authenticated as the client drain its bucket, so
 * someone who merely knows a client id cannot starve it with bad credentials; an empty bucket
 * answers 429 with Retry-After before any work is done. RFC 6749 defines no error code for this;
 * the body says `rate_limited` in its error-JSON shape.
 */
export function tokenRateLimit(options: { perSecond: number; now?: () => number }): Middleware {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const capacity = (perSecond: number) => Math.max(1, perSecond * 2);
  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(capacity(bucket.perSecond), bucket.tokens + ((at - bucket.updatedMs) / 1000) * bucket.perSecond);
    bucket.updatedMs = at;
  };

  return async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const form = protocolFormOf(ctx);
    const presented = presentedClientId(ctx.get('authorization'), form);
    const bucket = presented === undefined ? undefined : buckets.get(presented);
    if (bucket) {
      refill(bucket, now());
      if (bucket.tokens < 1) {
        const retryAfter = String(Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perSecond)));
        return sendOAuthError(ctx, 429, 'rate_limited', 'too many token requests for this client; retry later', { 'Retry-After': retryAfter });
      }
    }
    await next();
    // oidc-provider sets ctx.oidc.client once it found the client, before checking its secret:
    // 401 (invalid_client) means the credentials did not hold.
    const client = (ctx as { oidc?: { client?: { clientId: string } } }).oidc?.client;
    if (client === undefined || ctx.status === 401) return;
    // The client's own rate, else the server's; 0 = unlimited (no bucket, nothing to check next time).
    const perSecond = clientExtras(client).token_rate_limit_per_second ?? options.perSecond;
    if (perSecond <= 0) {
      buckets.delete(client.clientId);
      return;
    }
    const own = buckets.get(client.clientId) ?? { tokens: capacity(perSecond), updatedMs: now(), perSecond };
    own.perSecond = perSecond; // a changed registration applies from the next request
    refill(own, now());
    own.tokens -= 1;
    buckets.set(client.clientId, own);
  };
}
