import type { Provider } from 'oidc-provider';

// Models whose entries hang on a grant: what helpers/revoke.js revokes (CIBA and pre-authorized
// codes are off here).
const GRANT_MODELS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode'] as const;

/**
 * Revokes a grant as oidc-provider's own revocation does (helpers/revoke.js, which needs a request
 * context of the library's): every refresh token, opaque access token and code of the grant, then
 * the grant itself. Its destroy goes through the Grant adapter, which records the `grant`
 * revocation event (the `gid` claim) before the grant is gone (adapter-for-model.ts), so its JWT
 * access tokens are refused by the verifier, /forward-auth and introspection within a poll.
 */
export async function revokeGrant(provider: Provider, grantId: string): Promise<void> {
  const models = provider as unknown as Record<(typeof GRANT_MODELS)[number], { adapter: { revokeByGrantId(id: string): Promise<void> } }>;
  await Promise.all(GRANT_MODELS.map((m) => models[m].adapter.revokeByGrantId(grantId)));
  await provider.Grant.adapter.destroy(grantId);
}
