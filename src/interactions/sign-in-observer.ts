import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../http/metrics.ts';
import { field } from '../http/read-form.ts';
import type { SignInAttempt } from './login-routes.ts';

/**
 * Runs first on the login and sign-up posts and looks at the outcome afterwards: metrics
 * (success, failure, throttled) and the audit trail. A failed sign-in is recorded against the
 * account when the email has one, else with only the email's domain: the attempted address may be
 * a typo, or a password typed into the wrong field.
 */
export function signInObserver(form: 'login' | 'signup', deps: { metrics: Metrics; audit: AuditLog; accounts: AccountService; logger: Logger }): Middleware {
  return async (ctx, next) => {
    await next();
    const attempt = (form === 'login' ? ctx.state.signInAttempt : ctx.state.signUpAttempt) as SignInAttempt | undefined;
    const result = ctx.state.throttled ? 'throttled' : attempt ? (attempt.isSuccess ? 'success' : 'failure') : undefined;
    if (!result) return;
    deps.metrics.signIns.labels(form, result).inc();
    const email = attempt?.email ?? field(ctx.state.form as URLSearchParams, 'email');
    const clientId = (ctx.state.interaction as { params?: { client_id?: unknown } } | undefined)?.params?.client_id;
    const ip = ctx.ip;
    // The right password for an account that may not sign in (disabled, unverified): `refused`, with why.
    const outcome = attempt?.refusal ? 'refused' : { success: 'succeeded', failure: form === 'login' ? 'failed' : 'refused', throttled: 'throttled' }[result];
    void (async () => {
      const account = email ? await deps.accounts.findByEmail(email) : undefined;
      deps.audit.recordSoon({
        type: `${form === 'login' ? 'sign_in' : 'sign_up'}.${outcome}`,
        accountId: account?.id,
        clientId: typeof clientId === 'string' ? clientId : undefined,
        ip,
        details: {
          method: 'password',
          ...(attempt?.refusal ? { reason: attempt.refusal } : {}),
          ...(account ? {} : { email_domain: email.split('@')[1]?.toLowerCase().slice(0, 253) }),
        },
      });
    })().catch((err: Error) => deps.logger.error({ err: err.message }, 'audit of a sign-in failed'));
  };
}
