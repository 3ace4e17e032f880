import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * oidc-provider lets client_secret_basic and client_secret_post stand in for each other
 * (shared/client_auth.js accepts either for both), but the registered
 * token_endpoint_auth_method is the one a client may use (RFC 7591 §2): a secret posted in the
 * form by a Basic client (or the reverse) is refused as invalid_client. Called while the secret
 * is compared, with the request being authenticated; oidc-provider already refuses a request
 * that uses both ways at once.
 */
export function assertRegisteredSecretMethod(ctx: KoaContextWithOIDC | undefined, registered: string | undefined): void {
  if (!ctx) return; // not a protocol request: the caller checks the method itself (the revocation feed)
  const presented = ctx.oidc.params?.client_secret !== undefined ? 'client_secret_post' : 'client_secret_basic';
  if (presented !== registered) {
    throw new errors.InvalidClientAuth('the provided authentication mechanism does not match the registered client authentication method');
  }
}
