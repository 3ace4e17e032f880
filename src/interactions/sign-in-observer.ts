import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../http/metrics.ts';
import type { SignInOutcomes } from './sign-in-outcomes.ts';

/**
 * Metrics (success, failure, throttled) and the audit trail for every password sign-in and
 * sign-up the routes report. A failed sign-in is recorded against the account when the email
 * has one (looked up here: the route could not tell), else with only the email's domain.
 */
export function observeSignIns(outcomes: SignInOutcomes, deps: { metrics: Metrics; audit: AuditLog; accounts: AccountService; logger: Logger }): void {
  outcomes.subscribe((o) => {
    deps.metrics.signIns.labels(o.form, o.result === 'refused' ? 'failure' : o.result).inc();
    const outcome = { success: 'succeeded', failure: o.form === 'login' ? 'failed' : 'refused', throttled: 'throttled', refused: 'refused' }[o.result];
    void (async () => {
      const accountId = o.accountId ?? (o.email ? (await deps.accounts.findByEmail(o.email))?.id : undefined);
      deps.audit.recordSoon({
        type: `${o.form === 'login' ? 'sign_in' : 'sign_up'}.${outcome}`,
        accountId,
        clientId: o.clientId,
        ip: o.ip,
        details: {
          method: 'password',
          ...(o.reason ? { reason: o.reason } : {}),
          ...(accountId ? {} : { email_domain: o.email.split('@')[1]?.toLowerCase().slice(0, 253) }),
        },
      });
    })().catch((err: Error) => deps.logger.error({ err: err.message }, 'audit of a sign-in failed'));
  });
}
