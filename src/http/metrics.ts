import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { sendOAuthError } from './oauth-error.ts';
import { protocolRouteName } from './protocol-routes.ts';

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per app (tests build several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers });
  const requests = counter('gatehouse_http_requests_total', 'HTTP requests by route and status', ['route', 'method', 'status']);
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  // client_id labels are bounded by the registered clients (only authenticated requests count).
  const tokensIssued = counter('gatehouse_tokens_issued_total', 'Successful token endpoint grants, by grant type and client', ['grant_type', 'client_id']);
  const reuseDetected = counter('gatehouse_token_reuse_detected_total', 'A spent refresh token or authorization code presented again (the grant was revoked)', [
    'kind',
  ]);
  const signIns = counter('gatehouse_sign_ins_total', 'Password sign-in and sign-up attempts by outcome (success, failure, throttled)', ['form', 'result']);
  const auditDropped = counter('gatehouse_audit_events_dropped_total', 'Buffered audit events dropped because Postgres could not take them');
  // Both labels are fixed sets: kind is MailKind (src/mail/mail-message.ts), result one of four.
  const mailMessages = counter(
    'gatehouse_mail_messages_total',
    'Mail by kind and outcome: sent; retried (an attempt failed, another follows); failed (given up); dropped (queue full, or shutdown)',
    ['kind', 'result'],
  );
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
  // 1 or 0 gauges, registered only when the instance has what they report on.
  const flag = (name: string, help: string, isSet: (() => boolean) | undefined) => {
    if (!isSet) return;
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(isSet() ? 1 : 0);
      },
    });
  };
  flag('gatehouse_redis_up', '1 when the Redis connection is ready, else 0', sources.isRedisReady);
  flag(
    'gatehouse_change_notices_listening',
    '1 while change notices from other instances are received (Postgres LISTEN), else 0: caches then re-read Postgres on every use',
    sources.isListeningForChanges,
  );
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
