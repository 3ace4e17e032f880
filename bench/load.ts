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

export type TokenRequest = { url: string; clientId: string; clientSecret: string; scope: string; resource?: string };

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
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: t.scope, ...(t.resource ? { resource: t.resource } : {}) }).toString(),
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

/**
 * One connection, one request at a time, for `seconds`: the latency a lone client sees. Timed
 * here with performance.now() (autocannon's histogram counts whole milliseconds).
 */
export async function oneConnectionLatency(t: TokenRequest, seconds: number): Promise<{ p50Ms: number; p99Ms: number; requests: number; non2xx: number }> {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const init = tokenRequestInit(t);
  const url = new URL(t.url);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { ...init.headers, 'content-length': Buffer.byteLength(init.body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  const times: number[] = [];
  let non2xx = 0;
  const deadline = performance.now() + seconds * 1000;
  try {
    for (let i = 0; i < 50; i += 1) await once(); // warm the connection and the JIT
    while (performance.now() < deadline) {
      const started = performance.now();
      const status = await once();
      times.push(performance.now() - started);
      if (status < 200 || status > 299) non2xx += 1;
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  return { p50Ms: at(0.5), p99Ms: at(0.99), requests: times.length, non2xx };
}

/**
 * Refresh-token rotation under load: every request sends a refresh token once, and every answer's
 * rotated token (RFC 6749 §6) goes back into the pool for the next request, so `tokens` chains
 * run side by side. (A pool rather than a chain per connection: autocannon resets a connection's
 * context after each pass over its request list.) A failed answer ends its chain, and is counted.
 */
export async function loadRefresh(
  t: { url: string; clientId: string; clientSecret: string; tokens: string[] },
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  const basic = Buffer.from(`${encodeURIComponent(t.clientId)}:${encodeURIComponent(t.clientSecret)}`).toString('base64');
  const pool = [...t.tokens];
  const run = autocannon as unknown as (o: object) => Promise<AutocannonResult>;
  const result = await run({
    url: t.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift() ?? '')}` }),
        onResponse: (status: number, body: string) => {
          const rotated = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
          if (rotated) pool.push(rotated);
          else if (process.env.BENCH_DEBUG) process.stderr.write(`refresh ${status}: ${body.slice(0, 200)}\n`);
        },
      },
    ],
  });
  return {
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
