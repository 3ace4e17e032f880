import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { consentPage } from '../../views/consent.ts';
import { renderPage } from '../../views/render-page.ts';
import type { AccountService } from '../accounts/account-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { isStandardScope } from '../clients/standard-scopes.ts';
import type { ConsentService } from '../consents/consent-service.ts';
import { addToGrant } from '../oidc/load-existing-grant.ts';
import type { Details, InteractionContext } from './interaction-context.ts';
import { describeScopes } from './scope-descriptions.ts';

type Missing = { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
export type EffectiveScopes = (accountId: string | undefined, resource: string, scopes: string[]) => Promise<string[]>;

export async function renderConsent(
  ctx: Context,
  ic: InteractionContext,
  accounts: AccountService,
  details: Details,
  effectiveScopes?: EffectiveScopes,
): Promise<void> {
  const d = details.prompt.details as Missing;
  const ui = ic.ui(ctx, details);
  const account = await accounts.findById(String(details.session?.accountId));
  let oidcScopes = d.missingOIDCScope ?? [];
  let resourceScopes = d.missingResourceScopes ?? {};
  // prompt=consent with nothing missing: the page still says what the app will get.
  if (!oidcScopes.length && !Object.keys(resourceScopes).length) {
    const requested = String(details.params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    oidcScopes = requested.filter(isStandardScope);
    const resource = details.params.resource;
    // Only what will really be granted: of an --rbac API, what the user's roles allow. (The
    // prompt's own list, above, is narrowed the same way at /auth: resources.ts.)
    const asked = requested.filter((s) => !isStandardScope(s));
    const apiScopes = typeof resource === 'string' && effectiveScopes ? await effectiveScopes(details.session?.accountId, resource, asked) : asked;
    resourceScopes = apiScopes.length && typeof resource === 'string' ? { [resource]: apiScopes } : {};
  }
  const page = consentPage({
    ui,
    uid: details.uid,
    csrf: ic.formToken(details),
    clientName: await ic.clientName(details),
    accountEmail: account?.email ?? '',
    scopes: describeScopes(ui.t, oidcScopes, resourceScopes),
  });
  renderPage(ctx, page);
}

/** POST /interaction/:uid/confirm: grants what the prompt listed and remembers the decision. */
export function confirmHandler(provider: Provider, ic: InteractionContext, consents: ConsentService, audit?: AuditLog): Middleware {
  return async (ctx) => {
    const details = ctx.state.interaction as Details;
    if (details.prompt.name !== 'consent' || !details.session) return ctx.redirect(`/interaction/${details.uid}`);
    const d = details.prompt.details as Missing;
    const accountId = details.session.accountId;
    const clientId = String(details.params.client_id);
    const allowed = { oidcScopes: d.missingOIDCScope ?? [], oidcClaims: d.missingOIDCClaims ?? [], resourceScopes: d.missingResourceScopes ?? {} };
    const grant = (details.grantId && (await provider.Grant.find(details.grantId))) || new provider.Grant({ accountId, clientId });
    addToGrant(grant, allowed);
    const grantId = await grant.save();
    await consents.remember(accountId, clientId, allowed);
    audit?.recordSoon({
      type: 'consent.granted',
      accountId,
      clientId,
      ip: ctx.ip,
      details: { scopes: allowed.oidcScopes, claims: allowed.oidcClaims, resource_scopes: allowed.resourceScopes },
    });
    await ic.finish(ctx, { consent: { grantId } }, { keepSignIn: true });
  };
}
