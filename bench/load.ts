import { createRequire } from 'node:module';

// autocannon ships no types; this is the slice of its programmatic API the bench uses.
type AutocannonOptions = {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  timeout: number;
};
type Percentiles = { average: number; p50: number; p99: number; max: number };
type AutocannonResult = {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: Percentiles;
  requests: Percentiles & { total: number };
};
const autocannon = createRequire(import.meta.url)('autocannon') as (o: AutocannonOptions) => Promise<AutocannonResult>;

export type TokenRequest = { url: string; clientId: string; clientSecret: string; scope: string };

export type LoadResult = {
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
};

/** RFC 6749 §4.4 with client_secret_basic (§2.3.1: form-urlencoded id and secret, then base64). */
export function tokenRequestInit(t: TokenRequest) {
  const basic = Buffer.from(`${encodeURIComponent(t.clientId)}:${encodeURIComponent(t.clientSecret)}`).toString('base64');
  return {
    method: 'POST' as const,
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: t.scope }).toString(),
  };
}

/** Loads the token endpoint for `seconds` with `connections` keep-alive connections. */
export async function loadTokenEndpoint(t: TokenRequest, options: { connections: number; seconds: number }): Promise<LoadResult> {
  const result = await autocannon({
    url: t.url,
    ...tokenRequestInit(t),
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
  });
  return {
    // Only successful responses are tokens.
    tokensPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])),
  };
}
