import type { Configuration, Grant, KoaContextWithOIDC } from 'oidc-provider';
import { clientExtras } from '../clients/client-extras.ts';
import { type Consent, type ConsentService, intersectConsents, isEmptyConsent } from '../consents/consent-service.ts';
import type { SignInGrants } from './sign-in-grants.ts';

type LoadExistingGrant = NonNullable<Configuration['loadExistingGrant']>;

// Claims the consent prompt never asks about (oidc-provider's prompts/consent.js).
const CLAIMS_NEVER_ASKED = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

/**
 * What this authorization request asks for that the grant does not hold yet: the same three
 * checks as oidc-provider's consent prompt (op_scopes_missing, op_claims_missing,
 * rs_scopes_missing), so that what we fill in is exactly what it would otherwise ask for.
 */
export function missingFromGrant(ctx: KoaContextWithOIDC, grant: Grant): Consent {
  const { oidc } = ctx;
  const hasScope = new Set(grant.getOIDCScopeEncountered().split(' '));
  const hasClaim = new Set(grant.getOIDCClaimsEncountered());
  const resourceScopes: Record<string, string[]> = {};
  for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
    const has = new Set(grant.getResourceScopeEncountered(indicator).split(' '));
    const missing = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s) && !has.has(s));
    if (missing.length) resourceScopes[indicator] = missing;
  }
  return {
    oidcScopes: [...oidc.requestParamOIDCScopes].filter((s) => !hasScope.has(s)),
    oidcClaims: [...oidc.requestParamClaims].filter((c) => !hasClaim.has(c) && !CLAIMS_NEVER_ASKED.has(c)),
    resourceScopes,
  };
}

export function addToGrant(grant: Grant, allowed: Consent): void {
  if (allowed.oidcScopes.length) grant.addOIDCScope(allowed.oidcScopes.join(' '));
  if (allowed.oidcClaims.length) grant.addOIDCClaims(allowed.oidcClaims);
  for (const [resource, scopes] of Object.entries(allowed.resourceScopes)) grant.addResourceScope(resource, scopes.join(' '));
}

/**
 * oidc-provider's loadExistingGrant hook (notes §12), run on every /auth with a signed-in user.
 * Takes the grant the user has just consented to, or else the one this request signs in on
 * (sign-in-grants.ts: the session's own, one shared per user and client, or a new refresh-token
 * family), then fills in what the request is missing without asking when the user may not be asked:
 * - a first-party client (metadata first_party: true) gets what it requests;
 * - any other client gets what this user allowed it before, in an earlier session
 *   (remembered in Postgres by the consent page), and only that.
 * Anything still missing makes oidc-provider show the consent page for just that part.
 */
export function createLoadExistingGrant(deps: { consents: Pick<ConsentService, 'rememberedFor'>; signInGrants: SignInGrants }): LoadExistingGrant {
  return async (ctx) => {
    const { oidc } = ctx;
    const client = oidc.client!;
    const accountId = oidc.account!.accountId;
    const decided = oidc.result?.consent?.grantId;
    if (decided) return oidc.provider.Grant.find(decided); // the user has just answered the consent page: take it as it is

    const grant = await deps.signInGrants.forRequest(oidc.provider, {
      accountId,
      clientId: client.clientId,
      sessionGrantId: oidc.session!.grantIdFor(client.clientId),
      isOffline: oidc.requestParamScopes.has('offline_access'),
    });
    const missing = missingFromGrant(ctx, grant);
    if (isEmptyConsent(missing)) return grant;
    const isFirstParty = clientExtras(client).first_party === true;
    const remembered = isFirstParty ? undefined : await deps.consents.rememberedFor(accountId, client.clientId);
    const allowed = isFirstParty ? missing : remembered && intersectConsents(missing, remembered);
    if (!allowed || isEmptyConsent(allowed)) return grant;
    addToGrant(grant, allowed);
    await grant.save();
    return grant;
  };
}
