import type { Context, Middleware } from 'koa';
import { resetPasswordPage, verifyEmailPage } from '../../views/account-links.ts';
import { errorPage } from '../../views/error.ts';
import { noticePage } from '../../views/notice.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import type { PasswordReset } from '../accounts/password-reset.ts';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { field, readForm } from '../http/read-form.ts';
import type { Messages } from '../i18n/messages.ts';

export const VERIFY_EMAIL_PATH = '/account/verify-email';
export const RESET_PASSWORD_PATH = '/account/reset-password';

// The password policy's refusals (AppError codes), in the page's words.
const PASSWORD_PROBLEMS = ['weak_password', 'invalid_password', 'common_password'] as const;
type PasswordProblem = (typeof PASSWORD_PROBLEMS)[number];
const isPasswordProblem = (code: string): code is PasswordProblem => (PASSWORD_PROBLEMS as readonly string[]).includes(code);

/**
 * The pages the mailed links open, without a session (the link is the credential):
 * /account/verify-email and /account/reset-password. A GET only shows the page with its button
 * or form (mail scanners and link previews follow links, so a GET never uses one up); the POST
 * uses the link. The token comes back in a hidden field. Answers: the page (200), a dead link
 * (400), a refused password (400, the link still works), a busy hasher (503 + Retry-After).
 * Only these two exact paths: the signed-in /account page is another route's.
 */
export function accountLinkRoutes(deps: { verification: EmailVerification; passwordReset: PasswordReset }): Middleware {
  const invalid = (ctx: Context, title: (t: Messages) => string, message: (t: Messages) => string, code: string, status = 400) => {
    const ui = pageUi(ctx);
    renderPage(ctx, errorPage({ ui, title: title(ui.t), message: message(ui.t), code }), status);
  };
  const tokenOf = async (ctx: Context): Promise<{ token: string; form?: URLSearchParams }> => {
    if (ctx.method === 'GET') return { token: typeof ctx.query.token === 'string' ? ctx.query.token : '' };
    const form = await readForm(ctx);
    return { token: field(form, 'token'), form };
  };

  const verifyEmail: Middleware = async (ctx) => {
    const { token } = await tokenOf(ctx);
    const dead = () =>
      invalid(
        ctx,
        (t) => t.verifyEmail.invalidTitle,
        (t) => t.verifyEmail.invalid,
        'invalid_link',
      );
    if (ctx.method === 'GET') {
      const found = await deps.verification.check(token);
      if (!found) return dead();
      return renderPage(ctx, verifyEmailPage({ ui: pageUi(ctx), token, email: found.email }));
    }
    const outcome = await deps.verification.confirm(token, ctx.ip);
    if (outcome.kind === 'invalid') return dead();
    if (outcome.kind === 'taken')
      return invalid(
        ctx,
        (t) => t.verifyEmail.invalidTitle,
        (t) => t.verifyEmail.taken,
        'email_taken',
        409,
      );
    const ui = pageUi(ctx);
    renderPage(ctx, noticePage({ ui, title: ui.t.verifyEmail.doneTitle, message: ui.t.verifyEmail.done(outcome.email) }));
  };

  const resetPassword: Middleware = async (ctx) => {
    const { token, form } = await tokenOf(ctx);
    const dead = () =>
      invalid(
        ctx,
        (t) => t.resetPassword.invalidTitle,
        (t) => t.resetPassword.invalid,
        'invalid_link',
      );
    const found = await deps.passwordReset.check(token);
    if (!found) return dead();
    const ui = pageUi(ctx);
    if (ctx.method === 'GET') return renderPage(ctx, resetPasswordPage({ ui, token, email: found.email }));
    let outcome: Awaited<ReturnType<typeof deps.passwordReset.complete>>;
    try {
      outcome = await deps.passwordReset.complete(token, field(form!, 'password'), ctx.ip);
    } catch (err) {
      if (err instanceof ServerBusy) {
        ctx.set('Retry-After', String(err.retryAfterSeconds));
        return renderPage(ctx, resetPasswordPage({ ui, token, email: found.email, error: ui.t.errors.busyMessage }), 503);
      }
      if (err instanceof AppError && isPasswordProblem(err.code)) {
        return renderPage(ctx, resetPasswordPage({ ui, token, email: found.email, error: ui.t.signup.problems[err.code] }), 400);
      }
      throw err;
    }
    if (outcome.kind === 'invalid') return dead();
    renderPage(ctx, noticePage({ ui, title: ui.t.resetPassword.doneTitle, message: ui.t.resetPassword.done }));
  };

  return async (ctx, next) => {
    const route = ctx.path === VERIFY_EMAIL_PATH ? verifyEmail : ctx.path === RESET_PASSWORD_PATH ? resetPassword : undefined;
    if (!route || (ctx.method !== 'GET' && ctx.method !== 'POST')) return next();
    ctx.state.route = 'account_link';
    await route(ctx, next);
  };
}
