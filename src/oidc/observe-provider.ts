import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../http/metrics.ts';

type TokenLike = { accountId?: string };

/** oidc-provider's error_detail for a spent refresh token or code presented again, and our event for it. */
const REUSE_DETAILS: Record<string, string> = {
  'refresh token already used': 'refresh_token.reuse_detected',
  'authorization code already consumed': 'authorization_code.reuse_detected',
};

/**
 * Metrics and audit events from oidc-provider's events (docs/events.md): tokens issued by grant
 * type and client (audited through the buffered writer, client-credentials tokens counted per
 * flush: this runs for every token), grant errors with reuse detections (a metric, the audit
 * trail and a warning), and grants revoked. Single revoked tokens are reported by the revocation route
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

  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: string; error_detail?: string }) => {
    deps.logger.info({ requestId: ctx.state?.requestId, error: err.error, detail: err.error_detail }, 'grant error');
    // A spent refresh token or code presented again: possible theft; the library revoked the grant.
    const reuse = REUSE_DETAILS[err.error_detail ?? ''];
    if (!reuse) return;
    deps.metrics.reuseDetected.labels(reuse.split('.')[0]!).inc();
    const source = (ctx.oidc?.entities?.RefreshToken ?? ctx.oidc?.entities?.AuthorizationCode) as TokenLike | undefined;
    deps.audit
      .record({ type: reuse, clientId: ctx.oidc?.client?.clientId, accountId: source?.accountId, ip: ctx.ip })
      .catch((error: Error) => deps.logger.error({ err: error.message }, 'audit write failed'));
    deps.logger.warn({ requestId: ctx.state?.requestId, clientId: ctx.oidc?.client?.clientId, event: reuse }, 'token reuse detected');
  });

  // A whole grant ended: by revocation of one of its tokens, or by reuse detection (the route says which).
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC) => {
    deps.audit.recordSoon({ type: 'grant.revoked', clientId: ctx.oidc?.client?.clientId, ip: ctx.ip, details: { route: ctx.oidc?.route } });
  });
}
