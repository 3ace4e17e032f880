import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { AccountSection } from '../../views/account.ts';
import { pageUi } from '../../views/page-ui.ts';
import type { EmailChange } from '../accounts/email-change.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import type { AccountSelfService, PasswordChange, PasswordCheck } from '../accounts/self-service.ts';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { field } from '../http/read-form.ts';
import type { Messages } from '../i18n/messages.ts';
import type { SignInThrottle } from '../interactions/sign-in-throttle.ts';
import type { AccountAccess } from '../oidc/account-access.ts';
import type { SignOutEverywhere } from '../revocation/sign-out-everywhere.ts';
import type { ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { UpstreamService } from '../upstreams/upstream-service.ts';
import type { AccountCookies, AccountPageSession } from './account-cookies.ts';
import type { AccountFormTokens } from './account-form-tokens.ts';
import type { AccountPageRenderer, CurrentAccount } from './account-page-model.ts';

/** What a notice or refusal page says, in the page's language. */
export type PageText = (t: Messages) => { title: string; message: string };

export type AccountActionDeps = {
  selfService: AccountSelfService;
  emailChange: EmailChange;
  verification: Pick<EmailVerification, 'send'>;
  access: Pick<AccountAccess, 'sessions' | 'endSession' | 'revokeApp'>;
  signOutEverywhere: Pick<SignOutEverywhere, 'account'>;
  upstreams: Pick<UpstreamService, 'list'>;
  cookies: AccountCookies;
  formTokens: AccountFormTokens;
  /** Mail sent from the page (a verification link, a new address's link): per account and per IP, the sign-in policies. */
  throttle?: SignInThrottle;
  render: AccountPageRenderer;
  isRecent: (session: AccountPageSession) => boolean;
  /** A page saying what happened; `hasLink`: with the way back to the account page (not after a deletion). */
  notice: (ctx: Context, text: PageText, hasLink?: boolean) => void;
};

// The password policy's refusals (AppError codes) have the sign-up page's words.
const POLICY = new Set(['weak_password', 'invalid_password', 'common_password', 'invalid_email', 'invalid_name']);

/**
 * The account page's form posts, each after the page's guards (a live page session, its CSRF
 * token): a change is made and the browser sent back to its section (303, so a reload does not
 * repeat it), or the page is shown again with the section's refusal and status. Password, email
 * and delete need a recent sign-in (RECENT_SIGN_IN_SECONDS), checked here whatever the page showed.
 */
export function accountActions(router: Router, guards: Middleware[], deps: AccountActionDeps): void {
  const done = (ctx: Context, what: string | undefined, section: AccountSection) => {
    ctx.status = 303;
    ctx.redirect(`/account${what ? `?done=${what}` : ''}#${section}`);
  };
  const t = (ctx: Context) => pageUi(ctx, { path: '/account' }).t;
  const refuse = (ctx: Context, section: AccountSection, message: string, status: number, values?: { name?: string; newEmail?: string }) =>
    deps.render(ctx, ctx.state.account as CurrentAccount, { error: { section, message }, status, values });

  /** The handler, with the refusals every form shares: not recent enough, the policy, a busy hasher, a throttle. */
  const action =
    (
      section: AccountSection,
      handler: (ctx: Context, current: CurrentAccount, form: URLSearchParams) => Promise<void>,
      options: { isSensitive?: boolean } = {},
    ): Middleware =>
    async (ctx) => {
      const current = ctx.state.account as CurrentAccount;
      if (options.isSensitive && !deps.isRecent(current.session)) return refuse(ctx, section, t(ctx).account.recentRefused, 403);
      try {
        await handler(ctx, current, ctx.state.form as URLSearchParams);
      } catch (err) {
        if (err instanceof ServerBusy) {
          ctx.set('Retry-After', String(err.retryAfterSeconds));
          return refuse(ctx, section, t(ctx).errors.busyMessage, 503);
        }
        if (err instanceof AppError && POLICY.has(err.code)) {
          const problems: Record<string, string> = t(ctx).signup.problems;
          return refuse(ctx, section, problems[err.code]!, 400);
        }
        throw err;
      }
    };
  /** The refusals of a password asked again. True when it was right. */
  const passwordAnswered = async (ctx: Context, section: AccountSection, check: PasswordCheck | PasswordChange): Promise<boolean> => {
    if (check.kind !== 'wrong' && check.kind !== 'throttled') return true;
    if (check.kind === 'throttled') {
      ctx.set('Retry-After', String(check.retryAfterSeconds));
      await refuse(ctx, section, t(ctx).account.throttled(check.retryAfterSeconds), 429);
    } else await refuse(ctx, section, t(ctx).account.wrongPassword, 400);
    return false;
  };
  /** Sending mail from the page is throttled as a resend of the verification link is. */
  const mayMail = async (ctx: Context, current: CurrentAccount, scope: string, section: AccountSection, values?: { newEmail?: string }): Promise<boolean> => {
    if (!deps.throttle) return true;
    const keys: ThrottleKey[] = [
      { scope: `${scope}:account`, value: current.account.id, policy: deps.throttle.account },
      { scope: `${scope}:ip`, value: ctx.ip, policy: deps.throttle.ip },
    ];
    const attempt = await deps.throttle.throttle.take(keys);
    if (attempt.isAllowed) return true;
    ctx.set('Retry-After', String(attempt.retryAfterSeconds));
    await refuse(ctx, section, t(ctx).account.throttled(attempt.retryAfterSeconds), 429, values);
    return false;
  };
  const post = (path: string, handler: Middleware) => router.post(path, ...guards, handler);

  post(
    '/account/profile',
    action('profile', async (ctx, { account }, form) => {
      await deps.selfService.rename(account, field(form, 'name'), ctx.ip);
      done(ctx, 'name_saved', 'profile');
    }),
  );

  post(
    '/account/email/verify',
    action('email', async (ctx, current) => {
      if (!(await mayMail(ctx, current, 'verify-resend', 'email'))) return;
      await deps.verification.send(current.account, pageUi(ctx).locale);
      done(ctx, 'verification_sent', 'email');
    }),
  );

  post(
    '/account/email',
    action(
      'email',
      async (ctx, current, form) => {
        const newEmail = field(form, 'email');
        if (!(await mayMail(ctx, current, 'email-change', 'email', { newEmail }))) return;
        try {
          await deps.emailChange.request(current.account, newEmail, pageUi(ctx).locale, ctx.ip);
        } catch (err) {
          if (err instanceof AppError && err.code === 'same_email') return refuse(ctx, 'email', t(ctx).account.email.same, 400, { newEmail });
          if (err instanceof AppError && err.code === 'invalid_email') return refuse(ctx, 'email', t(ctx).signup.problems.invalid_email, 400, { newEmail });
          throw err;
        }
        done(ctx, 'email_link_sent', 'email');
      },
      { isSensitive: true },
    ),
  );

  post(
    '/account/password',
    action(
      'password',
      async (ctx, { account }, form) => {
        let check: PasswordChange;
        try {
          check = await deps.selfService.changePassword(
            account,
            { current: form.has('current') ? field(form, 'current') : undefined, next: field(form, 'password') },
            ctx.ip,
          );
        } catch (err) {
          if (err instanceof AppError && err.code === 'email_not_verified') return refuse(ctx, 'password', t(ctx).account.password.needsVerified, 409);
          throw err;
        }
        if (!(await passwordAnswered(ctx, 'password', check))) return;
        if (check.kind === 'first_password') return done(ctx, 'password_set', 'password');
        // Signed out everywhere, this page too: the new password signs in again.
        deps.cookies.endSession(ctx);
        deps.notice(ctx, (m) => ({ title: m.account.passwordChangedTitle, message: m.account.passwordChanged }));
      },
      { isSensitive: true },
    ),
  );

  post(
    '/account/identities/unlink',
    action('identities', async (ctx, { account }, form) => {
      const configured = new Set((await deps.upstreams.list()).map((u) => u.id));
      const outcome = await deps.selfService.unlink(
        account,
        { upstreamId: field(form, 'upstream'), subject: field(form, 'subject') },
        (id) => configured.has(id),
        ctx.ip,
      );
      if (outcome === 'last_way_in') return refuse(ctx, 'identities', t(ctx).account.identities.lastWayIn, 409);
      done(ctx, outcome === 'unlinked' ? 'identity_unlinked' : undefined, 'identities');
    }),
  );

  post(
    '/account/sessions/end',
    action('sessions', async (ctx, current, form) => {
      const handle = field(form, 'session');
      const session = (await deps.access.sessions(current.account.id)).find((s) => deps.formTokens.handleFor(s.ref) === handle);
      if (!session) return done(ctx, undefined, 'sessions'); // gone already
      await deps.access.endSession(current.account.id, session.ref, ctx.ip);
      if (session.uid !== current.session.sessionUid) return done(ctx, 'session_ended', 'sessions');
      deps.cookies.endSession(ctx);
      deps.notice(ctx, (m) => ({ title: m.account.signedOutTitle, message: m.account.signedOut }));
    }),
  );

  post(
    '/account/sessions/end-all',
    action('sessions', async (ctx, { account }) => {
      await deps.signOutEverywhere.account(account.id, 'account_page');
      deps.cookies.endSession(ctx);
      deps.notice(ctx, (m) => ({ title: m.account.signedOutTitle, message: m.account.signedOutEverywhere }));
    }),
  );

  post(
    '/account/apps/revoke',
    action('apps', async (ctx, { account }, form) => {
      await deps.access.revokeApp(account.id, field(form, 'client'), ctx.ip);
      done(ctx, 'app_revoked', 'apps');
    }),
  );

  post(
    '/account/delete',
    action(
      'delete',
      async (ctx, { account }, form) => {
        const check = await deps.selfService.delete(account, form.has('password') ? field(form, 'password') : undefined, ctx.ip);
        if (!(await passwordAnswered(ctx, 'delete', check))) return;
        deps.cookies.endSession(ctx);
        deps.notice(ctx, (m) => ({ title: m.account.deletedTitle, message: m.account.deleted }), false);
      },
      { isSensitive: true },
    ),
  );
}
