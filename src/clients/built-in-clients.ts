/**
 * The account page (/account) signs people in as any application does: it is a client of
 * Gatehouse itself, through /auth with a code and PKCE, so every sign-in rule (throttles,
 * EMAIL_VERIFICATION, disabled accounts, upstream sign-in, CSRF tokens) applies to it unchanged.
 * It is a static client of the engine (built from ISSUER on every Provider build, never managed
 * through RFC 7592), first-party (no consent page) and public (the code is redeemed inside this
 * server: src/account-page/account-sign-in.ts). Its row in `clients` (migration
 * 20261204020301) only anchors the users' grants and consents that refer to it.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

export const accountClientMetadata = (issuer: string) => ({
  client_id: ACCOUNT_CLIENT_ID,
  client_name: 'Gatehouse account',
  redirect_uris: [`${issuer}${ACCOUNT_CALLBACK_PATH}`],
  grant_types: ['authorization_code'],
  response_types: ['code' as const],
  token_endpoint_auth_method: 'none' as const,
  scope: 'openid',
  first_party: true,
});

/** A client row that only anchors a built-in client: operators neither list, rotate nor delete it. */
export const isBuiltInClient = (metadata: Record<string, unknown> | undefined) => metadata?.built_in === true;
