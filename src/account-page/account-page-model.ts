import type { Context } from 'koa';
import { type AccountPageModel, type AccountSection, accountPage } from '../../views/account.ts';
import { pageUi } from '../../views/page-ui.ts';
import { renderPage } from '../../views/render-page.ts';
import type { Account, AccountService } from '../accounts/account-service.ts';
import type { EmailChange } from '../accounts/email-change.ts';
import type { UserAdmin } from '../accounts/user-admin.ts';
import { describeScopes } from '../interactions/scope-descriptions.ts';
import type { AccountAccess } from '../oidc/account-access.ts';
import type { UpstreamService } from '../upstreams/upstream-service.ts';
import type { AccountPageSession } from './account-cookies.ts';
import type { AccountFormTokens } from './account-form-tokens.ts';

/** Who this request's page is for: the page session and its account (account-page-routes.ts's guard). */
export type CurrentAccount = { session: AccountPageSession; account: Account };

export type AccountPageModelDeps = {
  accounts: Pick<AccountService, 'hasPassword'>;
  users: Pick<UserAdmin, 'show'>;
  emailChange: Pick<EmailChange, 'pending'>;
  access: Pick<AccountAccess, 'sessions' | 'apps'>;
  upstreams: Pick<UpstreamService, 'list'>;
  formTokens: AccountFormTokens;
  /** Whether the sign-in is recent enough for password, email and delete. */
  isRecent: (session: AccountPageSession) => boolean;
};

export type RenderExtra = { notice?: string; error?: { section: AccountSection; message: string }; values?: AccountPageModel['values']; status?: number };

/** Gathers what the account page shows (the account, its links, browsers and apps) and renders it. */
export function createAccountPageRenderer(deps: AccountPageModelDeps) {
  return async (ctx: Context, current: CurrentAccount, extra: RenderExtra = {}): Promise<void> => {
    const { account, session } = current;
    const ui = pageUi(ctx, { path: '/account' });
    const [hasPassword, shown, upstreams, sessions, apps, pending] = await Promise.all([
      deps.accounts.hasPassword(account.id),
      deps.users.show({ id: account.id }),
      deps.upstreams.list(),
      deps.access.sessions(account.id),
      deps.access.apps(account.id),
      deps.emailChange.pending(account),
    ]);
    const names = new Map(upstreams.map((u) => [u.id, u.name]));
    // The same rule the unlink itself enforces (unlinkUnlessLast): another way in must remain.
    const canUsePassword = hasPassword && account.email !== null;
    const usable = shown.identities.filter((i) => names.has(i.upstream));
    const model: AccountPageModel = {
      ui,
      csrf: deps.formTokens.tokenFor(session.sessionUid),
      account: { email: account.email, isEmailVerified: account.emailVerified, name: account.name, hasPassword },
      isRecent: deps.isRecent(session),
      pendingEmail: pending?.email,
      identities: shown.identities.map((i) => ({
        upstreamId: i.upstream,
        upstreamName: names.get(i.upstream) ?? i.upstream,
        subject: i.subject,
        email: i.email,
        lastSignInAt: i.lastSignInAt,
        canUnlink: canUsePassword || usable.some((other) => other !== i),
      })),
      sessions: sessions.map((s) => ({
        handle: deps.formTokens.handleFor(s.ref),
        browser: s.browser,
        system: s.system,
        lastUsedAt: s.lastUsedAt,
        signedInAt: s.signedInAt,
        clientNames: s.clients.map((c) => c.name),
        isCurrent: s.uid === session.sessionUid,
      })),
      apps: apps.map((a) => ({ clientId: a.clientId, name: a.name, scopes: describeScopes(ui.t, a.oidcScopes, a.resourceScopes) })),
      notice: extra.notice,
      error: extra.error,
      values: extra.values,
    };
    renderPage(ctx, accountPage(model), extra.status);
  };
}

export type AccountPageRenderer = ReturnType<typeof createAccountPageRenderer>;
