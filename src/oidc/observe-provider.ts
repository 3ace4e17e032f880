import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../http/metrics.ts';
import { REUSE_DETAILS } from './build-provider.ts';

type TokenLike = { accountId?: string };

/**
 * Metrics and audit events from oidc-provider's events (docs/events.md): tokens issued by grant
 * type and client (audited through the buffered writer, client-credentials tokens counted per
 * flush: this runs for every token), reuse
 * detections, and grants revoked. Single revoked tokens are reported by the revocation route
 * (revoke-jwt.ts), which knows JWTs too.
 */
export function observeProvider(provider: Provider, deps: { metrics: Metrics; audit: AuditLog; logger: Logger; isTokenAuditOn: boolean }): void {
  const issued = new Map<string, ReturnType<Metrics['tokensIssued']['labels']>>();
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
    const clientId = ctx.oidc.client?.clientId ?? 'unknown';
    const key = `${grantType} ${clientId}`;
    let counter = issued.get(key);
    if (!counter) issued.set(key, (counter = deps.metrics.tokensIssued.labels(grantType, clientId)));
    counter.inc();
    if (!deps.isTokenAuditOn) return;
    const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as TokenLike | undefined;
    const body = ctx.body as { scope?: string; refresh_token?: string } | undefined;
    const event = {
      type: 'token.issued',
      clientId,
      accountId: source?.accountId,
      ip: ctx.ip,
      details: { grant_type: grantType, scope: body?.scope, refresh_token: Boolean(body?.refresh_token) },
    };
    // A user's tokens one row each; a service's (no user) counted per flush, as they come by the thousand.
    if (source?.accountId) deps.audit.recordSoon(event);
    else deps.audit.recordCounted(event);
  });

  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: { error_detail?: string }) => {
    const reuse = REUSE_DETAILS[err.error_detail ?? ''];
    if (reuse) deps.metrics.reuseDetected.labels(reuse.split('.')[0]!).inc();
  });

  // A whole grant ended: by revocation of one of its tokens, or by reuse detection (the route says which).
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC) => {
    deps.audit.recordSoon({ type: 'grant.revoked', clientId: ctx.oidc?.client?.clientId, ip: ctx.ip, details: { route: ctx.oidc?.route } });
  });
}
