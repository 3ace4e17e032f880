import { clientExtras } from '../clients/client-extras.ts';

/** The caller: an oidc-provider Client (its extras are read with clientExtras). */
export type IntrospectingClient = { clientId: string };

/**
 * Who may learn about a token at the introspection endpoint (RFC 7662 §4: limit what a caller
 * learns to what it has a claim on): the client the token was issued to, always; and an API's own
 * client (registered with --introspect) for access tokens meant for an API it is registered for
 * (`--resource`). Nobody else, and never another client's refresh token: those are for the
 * issuer alone, and an API never sees them.
 */
export function mayIntrospect(caller: IntrospectingClient, token: { clientId: string; audience: unknown; isRefreshToken: boolean }): boolean {
  if (token.clientId === caller.clientId) return true;
  const { can_introspect, allowed_resources = [] } = clientExtras(caller);
  if (can_introspect !== true || token.isRefreshToken) return false;
  const audiences = (Array.isArray(token.audience) ? token.audience : [token.audience]).filter((a): a is string => typeof a === 'string');
  return audiences.some((a) => allowed_resources.includes(a));
}
