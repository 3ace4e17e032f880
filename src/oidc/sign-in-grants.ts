import type { Grant, Provider } from 'oidc-provider';
import type { SignInGrantRepository } from '../consents/sign-in-grant-repository.ts';
import { SESSION_TTL_SECONDS } from './provider-configuration.ts';

/**
 * Offline sign-ins kept per user and client (each a refresh-token family on some device); a new
 * one beyond this revokes the oldest. Google and Auth0 do the same (100 and 200 tokens); fewer
 * here, as a family lives on only while its device uses it and the rest are left behind when an
 * app signs in anew.
 */
export const MAX_REFRESH_GRANTS_PER_CLIENT = 20;

// Models whose entries hang on a grant (helpers/revoke.js revokes these too).
const GRANT_MODELS = ['RefreshToken', 'AccessToken', 'AuthorizationCode'] as const;

type Request = { accountId: string; clientId: string; sessionGrantId?: string; isOffline: boolean };

/**
 * Which Grant an authorization request signs in on (the loadExistingGrant hook asks, notes §12).
 * oidc-provider makes one per browser session and client, and a grant lives the session plus
 * the longest refresh chain: a user who signs in from many sessions left a row for each.
 *
 * - Without offline_access, sessions share one grant per user and client: nothing long-lived
 *   hangs on it (its tokens expire with their session), so sharing costs only this: a sign-out
 *   in one browser, which revokes the grant, ends the other browsers' current access tokens for
 *   that client early (their sessions go on, and their next request gets the grant anew).
 * - With offline_access a grant is the refresh-token family that oidc-provider revokes as one
 *   (RFC 7009 revocation of a refresh token, reuse detection, RFC 9700 §4.14.2): shared, one
 *   device's sign-out would end every device's. So each such sign-in gets its own, unless its
 *   session already has one, and only the newest MAX_REFRESH_GRANTS_PER_CLIENT are kept.
 * Grants only grow (scopes are added), so two sessions adding to a shared grant at the same
 * moment may keep only one's additions; the other is asked again.
 */
export function createSignInGrants(deps: { repository: SignInGrantRepository }) {
  const newGrant = async (provider: Provider, r: Request): Promise<Grant> => {
    const grant = new provider.Grant({ accountId: r.accountId, clientId: r.clientId });
    await grant.save();
    return grant;
  };

  async function shared(provider: Provider, r: Request): Promise<Grant> {
    const id = await deps.repository.findShared(r.accountId, r.clientId);
    const found = id ? await provider.Grant.find(id) : undefined;
    if (found && found.accountId === r.accountId && found.clientId === r.clientId) {
      // It must outlive the session that takes it up; renewed then, rarely (a save each time
      // would widen the window in which concurrent sessions overwrite each other's additions).
      if ((found.exp ?? 0) - Math.floor(Date.now() / 1000) < SESSION_TTL_SECONDS) {
        Object.assign(found, { exp: undefined }); // save() then sets a full ttl.Grant again
        await found.save();
      }
      return found;
    }
    const grant = await newGrant(provider, r);
    await deps.repository.setShared(r.accountId, r.clientId, grant.jti);
    return grant;
  }

  async function offline(provider: Provider, r: Request): Promise<Grant> {
    const grant = await newGrant(provider, r);
    await deps.repository.addOffline(r.accountId, r.clientId, grant.jti);
    const ids = await deps.repository.listOffline(r.accountId, r.clientId);
    if (ids.length > MAX_REFRESH_GRANTS_PER_CLIENT) {
      // Count only grants that still exist (revoked, signed out, expired ones drop out), then
      // revoke the oldest beyond the cap: its refresh tokens stop working.
      const found = await Promise.all(ids.map((id) => provider.Grant.find(id)));
      const gone = ids.filter((_id, i) => !found[i]);
      const excess = ids.filter((_id, i) => found[i]).slice(MAX_REFRESH_GRANTS_PER_CLIENT);
      for (const id of excess) await revoke(provider, id);
      await deps.repository.remove([...gone, ...excess]);
    }
    return grant;
  }

  return {
    async forRequest(provider: Provider, r: Request): Promise<Grant> {
      const own = r.sessionGrantId ? await provider.Grant.find(r.sessionGrantId) : undefined;
      // This session's grant serves it as before, unless an offline request would tie its
      // refresh tokens to the grant every session shares.
      if (own && !(r.isOffline && (await deps.repository.find(own.jti))?.isOffline === false)) return own;
      return r.isOffline ? offline(provider, r) : shared(provider, r);
    },
  };
}

/** As oidc-provider's own revocation of a grant: its entries, then the grant. */
async function revoke(provider: Provider, grantId: string): Promise<void> {
  const models = provider as unknown as Record<(typeof GRANT_MODELS)[number], { adapter: { revokeByGrantId(id: string): Promise<void> } }>;
  await Promise.all(GRANT_MODELS.map((m) => models[m].adapter.revokeByGrantId(grantId)));
  await (await provider.Grant.find(grantId))?.destroy();
}

export type SignInGrants = ReturnType<typeof createSignInGrants>;
