import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { confirmEmailPage } from '../../views/account.ts';
import { errorPage } from '../../views/error.ts';
import { noticePage } from '../../views/notice.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { EmailChange } from '../accounts/email-change.ts';
import { field, readForm } from '../http/read-form.ts';
import { type AccountActionDeps, accountActions, type PageText } from './account-actions.ts';
import type { AccountCookies, AccountPageSession } from './account-cookies.ts';
import type { AccountFormTokens } from './account-form-tokens.ts';
import { type AccountPageModelDeps, type CurrentAccount, createAccountPageRenderer } from './account-page-model.ts';
import { createAccountSignIn, isSection } from './account-sign-in.ts';

/**
 * A sign-in counts as recent this long (OIDC's max_age for the sensitive forms): changing the
 * password or the address, or deleting the account, needs a sign-in at most 10 minutes old;
 * older, the page offers "confirm it is you" (prompt=login) instead of those forms, and refuses
 * their posts.
 */
export const RECENT_SIGN_IN_SECONDS = 600;

export type AccountPageDeps = Omit<AccountPageModelDeps, 'isRecent' | 'accounts'> &
  Omit<AccountActionDeps, 'render' | 'isRecent' | 'notice'> & {
    issuer: string;
    accounts: AccountService;
    emailChange: EmailChange;
    cookies: AccountCookies;
    formTokens: AccountFormTokens;
    /** EMAIL_VERIFICATION=required: an unverified account's old session is sent through the sign-in (which stops it). */
    isVerificationRequired: boolean;
    clock: () => Date;
  };

/**
 * /account: the signed-in person's own page, and the link that confirms a new address. Reached
 * through an ordinary Gatehouse sign-in (account-sign-in.ts), held by a short sealed cookie of its
 * own (account-cookies.ts) that lives only while the Gatehouse session it came from does; every
 * form carries a CSRF token (account-form-tokens.ts). No script anywhere: forms and links, the
 * pages' strict CSP. /account/verify-email and /account/reset-password are account-link-routes.ts'.
 */
export function accountPageRoutes(provider: Provider, deps: AccountPageDeps): Middleware {
  const router = new Router();
  const signIn = createAccountSignIn({ issuer: deps.issuer, cookies: deps.cookies });
  const isRecent = (s: AccountPageSession) => deps.clock().getTime() / 1000 - s.authTime <= RECENT_SIGN_IN_SECONDS;
  const render = createAccountPageRenderer({ ...deps, isRecent });
  const ui = (ctx: Context) => pageUi(ctx, { path: '/account' });
  const notice = (ctx: Context, text: PageText, hasLink = true) => {
    const u = ui(ctx);
    const { title, message } = text(u.t);
    renderPage(ctx, noticePage({ ui: u, title, message, link: hasLink ? { href: '/account', text: u.t.account.signIn } : undefined }));
  };
  const refuse = (ctx: Context, code: string, status: number, text: PageText) => {
    const u = ui(ctx);
    renderPage(ctx, errorPage({ ui: u, ...text(u.t), code, link: { href: '/account', text: u.t.account.signIn } }), status);
  };

  /**
   * Who this request is for: the page session, its Gatehouse session still there (signed out,
   * everywhere or here, ends the page too), its account still there and allowed in. Otherwise a
   * GET signs in again and a POST goes back to the page (its form is not replayed).
   */
  const withAccount: Middleware = async (ctx, next) => {
    const s = deps.cookies.session(ctx);
    const again = (isReauth = false) => {
      if (ctx.method === 'GET') return signIn.start(ctx, { locale: ui(ctx).locale, isReauth });
      ctx.status = 303;
      ctx.redirect('/account');
    };
    if (!s) return again();
    const [account, session] = await Promise.all([deps.accounts.findById(s.accountId), provider.Session.findByUid(s.sessionUid)]);
    if (!account || session?.accountId !== s.accountId) {
      deps.cookies.endSession(ctx);
      return again();
    }
    if (account.disabledAt) {
      deps.cookies.endSession(ctx);
      return refuse(ctx, 'account_disabled', 403, (t) => ({ title: t.accountDisabled.title, message: t.accountDisabled.message }));
    }
    if (deps.isVerificationRequired && account.email && !account.emailVerified) {
      deps.cookies.endSession(ctx);
      return again(true); // the sign-in page, which stops at "check your inbox"
    }
    deps.cookies.keepSession(ctx, s);
    ctx.state.account = { session: s, account } satisfies CurrentAccount;
    await next();
  };

  /** A form post: its CSRF token must be this page session's (403 otherwise). */
  const withForm: Middleware = async (ctx, next) => {
    const form = await readForm(ctx);
    const current = ctx.state.account as CurrentAccount;
    if (!deps.formTokens.isValid(current.session.sessionUid, field(form, 'csrf'))) {
      return refuse(ctx, 'invalid_form', 403, (t) => ({ title: t.errors.formRefusedTitle, message: t.account.formRefused }));
    }
    ctx.state.form = form;
    await next();
  };

  router.get('/account', withAccount, async (ctx) => {
    const done = typeof ctx.query.done === 'string' ? ctx.query.done : undefined;
    const messages: Record<string, string> = ui(ctx).t.account.done;
    await render(ctx, ctx.state.account as CurrentAccount, { notice: done && Object.hasOwn(messages, done) ? messages[done] : undefined });
  });

  // A GET may start a sign-in: it changes nothing but a cookie of this browser's.
  router.get('/account/sign-in', (ctx) => {
    const section = ctx.query.section;
    signIn.start(ctx, { locale: ui(ctx).locale, section: isSection(section) ? section : undefined, isReauth: ctx.query.reauth === '1' });
  });

  router.get('/account/callback', async (ctx) => {
    const outcome = await signIn.finish(ctx, provider);
    if (outcome.kind === 'cancelled') return notice(ctx, (t) => ({ title: t.account.cancelledTitle, message: t.account.cancelled }));
    if (outcome.kind === 'invalid') return refuse(ctx, 'sign_in_failed', 400, (t) => ({ title: t.account.failedTitle, message: t.account.failed }));
    const account = await deps.accounts.findById(outcome.signedIn.accountId);
    if (!account || account.disabledAt)
      return refuse(ctx, 'account_disabled', 403, (t) => ({ title: t.accountDisabled.title, message: t.accountDisabled.message }));
    if (deps.isVerificationRequired && account.email && !account.emailVerified) {
      // Only an old session gets here (a sign-in now stops at "check your inbox"): sign in anew, once.
      if (outcome.isReauth) return refuse(ctx, 'sign_in_failed', 400, (t) => ({ title: t.account.failedTitle, message: t.account.failed }));
      return signIn.start(ctx, { locale: ui(ctx).locale, section: outcome.section, isReauth: true });
    }
    deps.cookies.startSession(ctx, outcome.signedIn);
    ctx.status = 303;
    ctx.redirect(`/account${outcome.section ? `#${outcome.section}` : ''}`);
  });

  // The new address's link (no session needed: the link is the credential). GET shows, POST uses it.
  const confirmEmail: Middleware = async (ctx) => {
    const form = ctx.method === 'POST' ? await readForm(ctx) : undefined;
    const token = form ? field(form, 'token') : typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const dead = () => refuse(ctx, 'invalid_link', 400, (t) => ({ title: t.confirmEmail.invalidTitle, message: t.confirmEmail.invalid }));
    if (!form) {
      const found = await deps.emailChange.check(token);
      return found ? renderPage(ctx, confirmEmailPage({ ui: pageUi(ctx), token, email: found.email })) : dead();
    }
    const outcome = await deps.emailChange.confirm(token, ctx.ip);
    if (outcome.kind === 'invalid') return dead();
    if (outcome.kind === 'taken') return refuse(ctx, 'email_taken', 409, (t) => ({ title: t.confirmEmail.invalidTitle, message: t.confirmEmail.taken }));
    const u = pageUi(ctx);
    renderPage(
      ctx,
      noticePage({
        ui: u,
        title: u.t.confirmEmail.doneTitle,
        message: u.t.confirmEmail.done(outcome.email),
        link: { href: '/account', text: u.t.account.title },
      }),
    );
  };
  router.get('/account/confirm-email', confirmEmail);
  router.post('/account/confirm-email', confirmEmail);

  accountActions(router, [withAccount, withForm], { ...deps, render, isRecent, notice });

  const routes = router.routes();
  return async (ctx, next) => {
    if (ctx.path !== '/account' && !ctx.path.startsWith('/account/')) return next();
    ctx.state.route = 'account';
    await routes(ctx as Parameters<typeof routes>[0], next);
  };
}
