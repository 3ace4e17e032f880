import type Router from '@koa/router';
import type { Context } from 'koa';
import { errorPage } from '../../views/error.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import { type SignupField, signupPage } from '../../views/signup.ts';
import type { Account, AccountService } from '../accounts/account-service.ts';
import type { EmailVerification } from '../accounts/email-verification.ts';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { field } from '../http/read-form.ts';
import type { Messages } from '../i18n/messages.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import type { SignInGate } from './sign-in-gate.ts';
import type { SignInOutcome, SignInOutcomes } from './sign-in-outcomes.ts';
import type { SignInAttempts } from './sign-in-throttle.ts';

export type SignupDeps = {
  accounts: AccountService;
  isSignupEnabled: boolean;
  gate: SignInGate;
  verification: EmailVerification;
  attempts: SignInAttempts;
  outcomes: SignInOutcomes;
};

// registerAccount's refusals, each shown beside the field it is about.
const PROBLEMS: Record<string, SignupField> = {
  invalid_email: 'email',
  conflict: 'email',
  weak_password: 'password',
  invalid_password: 'password',
  common_password: 'password',
  invalid_name: 'name',
};
type Problem = keyof Messages['signup']['problems'];

/**
 * /interaction/:uid/signup: creates an account and signs it in to continue the flow.
 *
 * An email already registered cannot be silently accepted (that would sign nobody in), so the
 * form says "could not create an account with these details; if you have one, sign in", with the
 * same status (400) and the same page as every other refusal, after the same argon2 work (the
 * password is hashed before the insert finds the conflict). What stays observable is that this
 * address could not be used: an open sign-up form without e-mail verification cannot hide that.
 * The sign-in form, the path an attacker would probe, answers unknown and known emails alike.
 */
export function signupRoutes(router: Router, ic: InteractionContext, deps: SignupDeps): void {
  if (!deps.isSignupEnabled) {
    router.all('/signup', (ctx) => {
      const ui = pageUi(ctx);
      renderPage(ctx, errorPage({ ui, title: ui.t.errors.notFoundTitle, message: ui.t.errors.notFoundMessage }), 404);
    });
    return;
  }

  const render = async (ctx: Context, details: Details, error?: { field: SignupField; message: string }, values?: { name: string; email: string }) => {
    const ui = ic.ui(ctx, details, '/signup');
    const page = signupPage({ ui, uid: details.uid, csrf: ic.formToken(details), clientName: await ic.clientName(details), values, error });
    renderPage(ctx, page, error ? 400 : 200);
  };

  // Too many argon2 computations at once: 503 + Retry-After (RFC 9110 §15.6.4), nothing created or counted.
  const renderBusy = (ctx: Context, details: Details, err: ServerBusy) => {
    const ui = ic.ui(ctx, details, '/signup');
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    const link = { href: `/interaction/${details.uid}/signup`, text: ui.t.signup.title };
    renderPage(ctx, errorPage({ ui, title: ui.t.errors.busyTitle, message: ui.t.errors.busyMessage, code: err.code, link }), 503);
  };

  router.get('/signup', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    await render(ctx, details);
  });

  router.post('/signup', ic.withInteraction, async (ctx) => {
    const details = ctx.state.interaction as Details;
    const form = ctx.state.form as URLSearchParams;
    if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
    const values = { name: field(form, 'name'), email: field(form, 'email') };
    const report = (outcome: Pick<SignInOutcome, 'result' | 'accountId'>) =>
      deps.outcomes.report({ form: 'signup', email: values.email, ip: ctx.ip, clientId: String(details.params.client_id), ...outcome });
    // Every sign-up counts per IP, decided before any work (creating accounts in bulk is the abuse).
    const attempt = await deps.attempts.signup(addressGroup(ctx.ip));
    if (!attempt.isAllowed) {
      const ui = ic.ui(ctx, details, '/signup');
      ctx.set('Retry-After', String(attempt.retryAfterSeconds));
      report({ result: 'throttled' });
      const link = { href: `/interaction/${details.uid}/signup`, text: ui.t.signup.title };
      return renderPage(
        ctx,
        errorPage({ ui, title: ui.t.errors.throttledTitle, message: ui.t.login.throttled(attempt.retryAfterSeconds), code: 'too_many_attempts', link }),
        429,
      );
    }
    let account: Account;
    try {
      account = await deps.accounts.registerAccount({ ...values, password: field(form, 'password') });
    } catch (err) {
      if (err instanceof ServerBusy) {
        await attempt.unchecked(); // nothing was created or checked
        return renderBusy(ctx, details, err);
      }
      const fieldInError = err instanceof AppError ? PROBLEMS[err.code] : undefined;
      if (!fieldInError) {
        await attempt.unchecked();
        throw err;
      }
      report({ result: 'failure' });
      const { t } = ic.ui(ctx, details, '/signup');
      const message = t.signup.problems[(err as AppError).code as Problem];
      return render(ctx, details, { field: fieldInError, message }, values);
    }
    report({ result: 'success', accountId: account.id });
    // Every sign-up gets a verification link (in the page's language); with
    // EMAIL_VERIFICATION=required the sign-in then waits for it (the gate).
    await deps.verification.send(account, ic.ui(ctx, details).locale);
    if (await deps.gate(ctx, details, account)) return;
    await ic.finish(ctx, { login: { accountId: account.id } });
  });
}
