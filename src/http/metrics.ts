import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { protocolRouteName } from './protocol-routes.ts';
import { sendOAuthError } from './oauth-error.ts';

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per app (tests build several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  // client_id labels are bounded by the registered clients (only authenticated requests count).
  const tokensIssued = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Successful token endpoint grants, by grant type and client',
    labelNames: ['grant_type', 'client_id'] as const,
    registers,
  });
  const reuseDetected = new Counter({
    name: 'gatehouse_token_reuse_detected_total',
    help: 'A spent refresh token or authorization code presented again (the grant was revoked)',
    labelNames: ['kind'] as const,
    registers,
  });
  const signIns = new Counter({
    name: 'gatehouse_sign_ins_total',
    help: 'Password sign-in and sign-up attempts by outcome (success, failure, throttled)',
    labelNames: ['form', 'result'] as const,
    registers,
  });
  const auditDropped = new Counter({
    name: 'gatehouse_audit_events_dropped_total',
    help: 'Buffered audit events dropped because Postgres could not take them',
    registers,
  });
  // Both labels are fixed sets: kind is MailKind (src/mail/mail-message.ts), result one of four.
  const mailMessages = new Counter({
    name: 'gatehouse_mail_messages_total',
    help: 'Mail by kind and outcome: sent; retried (an attempt failed, another follows); failed (given up); dropped (queue full, or shutdown)',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  return { registry, requests, duration, tokensIssued, reuseDetected, signIns, auditDropped, mailMessages };
}

/** Gauges read at scrape time from the running parts. */
export function registerStateGauges(
  metrics: Metrics,
  sources: {
    /** Seconds since the signing key in use started signing. */
    activeKeyAgeSeconds: () => Promise<number | undefined>;
    pool: () => { used: number; free: number; pending: number } | undefined;
    isRedisReady?: () => boolean;
    /** Whether change notices from other instances are being received (Postgres LISTEN). */
    isListeningForChanges?: () => boolean;
  },
): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'gatehouse_signing_key_age_seconds',
    help: 'Age of the signing key in use, since it started signing',
    registers,
    async collect() {
      const age = await sources.activeKeyAgeSeconds().catch(() => undefined);
      if (age !== undefined) this.set(age);
    },
  });
  new Gauge({
    name: 'gatehouse_postgres_pool_connections',
    help: 'Postgres connection pool: connections in use, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const pool = sources.pool();
      if (!pool) return;
      this.set({ state: 'used' }, pool.used);
      this.set({ state: 'free' }, pool.free);
      this.set({ state: 'pending' }, pool.pending);
    },
  });
  if (sources.isRedisReady) {
    const isReady = sources.isRedisReady;
    new Gauge({
      name: 'gatehouse_redis_up',
      help: '1 when the Redis connection is ready, else 0',
      registers,
      collect() {
        this.set(isReady() ? 1 : 0);
      },
    });
  }
  if (sources.isListeningForChanges) {
    const isListening = sources.isListeningForChanges;
    new Gauge({
      name: 'gatehouse_change_notices_listening',
      help: '1 while change notices from other instances are received (Postgres LISTEN), else 0: caches then re-read Postgres on every use',
      registers,
      collect() {
        this.set(isListening() ? 1 : 0);
      },
    });
  }
}

/** Labels use route names, never raw paths, so label cardinality stays bounded. */
export function routeName(ctx: { oidc?: { route?: string }; state: { route?: string }; path: string }): string {
  return ctx.oidc?.route ?? ctx.state.route ?? protocolRouteName(ctx.path) ?? 'other';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** GET /metrics; with a token configured, only for `Authorization: Bearer <token>` (compared in constant time). */
export function metricsEndpoint(metrics: Metrics, options: { token?: string } = {}): Middleware {
  const expected = options.token === undefined ? undefined : digest(options.token);
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.state.route = 'metrics';
    if (expected) {
      const header = ctx.get('authorization');
      const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!timingSafeEqual(digest(presented), expected)) {
        return sendOAuthError(ctx, 401, 'unauthorized', 'a valid metrics token is required', { 'WWW-Authenticate': 'Bearer realm="metrics"' });
      }
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}
