import { type Configuration, errors } from 'oidc-provider';

/**
 * The longest value, in characters, each free-text authorization request parameter may have.
 * oidc-provider stores a request's parameters with its Interaction (and a pushed request with
 * its PAR entry), and checks none of these for size: a 14 KB `state` was kept for an hour, and an
 * unauthenticated flood of them filled Redis. Everything else on /auth is checked against a
 * registered value or a fixed set (client_id, redirect_uri, response_type, response_mode,
 * prompt, resource, code_challenge at 43-128 characters, request_uri). `claims` and
 * `authorization_details` are not accepted at all (their features are off), so never stored.
 * The README lists these caps; keep the two in step.
 */
export const AUTHORIZATION_PARAMETER_CAPS: Readonly<Record<string, number>> = Object.freeze({
  // Opaque to us, echoed to the client: client frameworks keep sealed state here (1-2 KB seen).
  state: 4096,
  nonce: 512,
  // An email address is at most 254 characters (RFC 5321 §4.5.3); opaque hints get room too.
  login_hint: 512,
  // Our own ID tokens are about 1 KB; a hint that is no ID token of ours fails verification anyway.
  id_token_hint: 8192,
  // Space-separated lists: dozens of API scopes, a few BCP 47 language tags or ACR URNs.
  scope: 2048,
  acr_values: 512,
  ui_locales: 256,
  claims_locales: 256,
  display: 32, // page | popup | touch | wap (OIDC Core §3.1.2.1)
  max_age: 10, // seconds, up to 317 years (oidc-provider checks it is an integer, not its length)
  dpop_jkt: 128, // a JWK SHA-256 thumbprint is 43 characters (RFC 9449 §10)
});

/**
 * The caps as oidc-provider's `extraParams` validators. Every name is already one of its
 * authorization parameters, so this adds no parameter; the validators run at /auth (GET and
 * POST) and at the PAR endpoint after the client and redirect_uri are checked, so an error goes
 * back to the client (RFC 6749 §4.1.2.1) — except an over-long `state`, which such a redirect
 * would echo: that one is a 400 page.
 */
export function authorizationParameterCaps(): NonNullable<Configuration['extraParams']> {
  return Object.fromEntries(
    Object.entries(AUTHORIZATION_PARAMETER_CAPS).map(([name, max]) => [
      name,
      (_ctx: unknown, value: unknown) => {
        const values = Array.isArray(value) ? value : [value];
        if (!values.some((v) => typeof v === 'string' && v.length > max)) return;
        const error = new errors.InvalidRequest(`${name} must be at most ${max} characters`);
        if (name === 'state') (error as { allow_redirect?: boolean }).allow_redirect = false;
        throw error;
      },
    ]),
  ) as NonNullable<Configuration['extraParams']>;
}
