import { errors } from 'oidc-provider';
import { DEVICE_CODE_GRANT } from '../clients/client-service.ts';
import type { SelfRegistrationGrant } from '../clients/registration-tokens.ts';
import { isStandardScope } from '../clients/standard-scopes.ts';
import { isAcceptableRedirectUri, REDIRECT_URI_RULE } from '../validation/redirect-uri.ts';
import { isSecureUrl } from '../validation/secure-url.ts';

export type { SelfRegistrationGrant };

/** Extras only an operator may set: a client that registers itself never has them. */
const OPERATOR_ONLY = [
  'can_introspect',
  'first_party',
  'token_rate_limit_per_second',
  'refresh_token_grace_seconds',
  'refresh_token_idle_seconds',
  'refresh_token_absolute_seconds',
];
const CONFIDENTIAL_METHODS = ['client_secret_basic', 'client_secret_post'];

type Metadata = Record<string, unknown>;
const invalid = (description: string) => new errors.InvalidClientMetadata(description);

/**
 * Rewrites the metadata of a client that registers itself (RFC 7591 §2, §3.2: the server may
 * replace or refuse what is asked) into what its grant allows, before oidc-provider validates the
 * rest: operator-only extras go; API scopes move from `scope` (which may hold only the server's
 * own scopes, notes §6) to `allowed_api_scopes`; the APIs are the grant's; public clients only,
 * unless the grant says otherwise; https (or loopback http) redirect URIs without a fragment.
 * Whatever the request said about these is ignored, so a registration cannot make itself
 * first-party, an introspector or a client of an API it was not offered.
 */
export function applySelfRegistration(metadata: Metadata, grant: SelfRegistrationGrant): void {
  for (const key of OPERATOR_ONLY) delete metadata[key];

  const method = metadata.token_endpoint_auth_method;
  if (!grant.mayBeConfidential && method !== 'none') {
    throw invalid('token_endpoint_auth_method must be none: only public clients may register here');
  }
  if (grant.mayBeConfidential && method !== 'none' && !CONFIDENTIAL_METHODS.includes(String(method))) {
    throw invalid(`token_endpoint_auth_method must be none or one of ${CONFIDENTIAL_METHODS.join(', ')}`);
  }
  const allowedGrants = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT, ...(method !== 'none' ? ['client_credentials'] : [])];
  const grantTypes = Array.isArray(metadata.grant_types) ? (metadata.grant_types as unknown[]) : [];
  const stray = grantTypes.find((g) => !allowedGrants.includes(String(g)));
  if (stray !== undefined) throw invalid(`grant_types may contain only ${allowedGrants.join(', ')}`);

  // As for every client (validation/redirect-uri.ts).
  const redirectUris = Array.isArray(metadata.redirect_uris) ? (metadata.redirect_uris as unknown[]) : [];
  if (redirectUris.some((uri) => typeof uri !== 'string' || !isAcceptableRedirectUri(uri))) throw invalid(`redirect_uris must each be an ${REDIRECT_URI_RULE}`);
  const backchannel = metadata.backchannel_logout_uri;
  if (backchannel !== undefined && (typeof backchannel !== 'string' || !isSecureUrl(backchannel))) {
    throw invalid('backchannel_logout_uri must be an https:// URL (http:// only on a loopback host)');
  }

  const scopes = typeof metadata.scope === 'string' ? [...new Set(metadata.scope.split(' ').filter(Boolean))] : [];
  const standard = scopes.filter(isStandardScope);
  const requestedApiScopes = scopes.filter((s) => !isStandardScope(s));
  const offered = grant.apiScopes;
  const refused = offered ? requestedApiScopes.find((s) => !offered.includes(s)) : undefined;
  if (refused !== undefined) throw invalid(`scope ${refused} is not offered to clients that register here`);
  if (standard.length) metadata.scope = standard.join(' ');
  else delete metadata.scope; // '' is refused by the engine; absent means its own scopes (notes §6)

  metadata.allowed_resources = grant.apis.length ? [...grant.apis] : [];
  // Naming no API scope asks for everything offered (when the grant knows what that is).
  metadata.allowed_api_scopes = grant.apis.length ? (requestedApiScopes.length || !offered ? requestedApiScopes : [...offered]) : [];
  metadata.self_registered = grant.via;
}

/** The grant an RFC 7592 update keeps: the one the client already has (an update never widens it). */
export function grantOfExistingClient(client: Metadata): SelfRegistrationGrant {
  const via = client.self_registered;
  if (via !== 'open' && via !== 'token') throw invalid('this client was not registered dynamically');
  return {
    via,
    apis: Array.isArray(client.allowed_resources) ? (client.allowed_resources as string[]) : [],
    apiScopes: Array.isArray(client.allowed_api_scopes) ? (client.allowed_api_scopes as string[]) : [],
    mayBeConfidential: client.token_endpoint_auth_method !== 'none',
  };
}

/** A client ID metadata document's client_id is its own https URL; ours are random hex. */
export const isMetadataDocumentClientId = (clientId: unknown) => typeof clientId === 'string' && clientId.startsWith('https://');
