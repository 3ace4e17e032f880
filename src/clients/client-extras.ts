/**
 * Gatehouse's own client metadata, beside the standard ones: registered with oidc-provider as
 * `extraClientMetadata` (so they survive its validation) and, unlike the standard ones, kept
 * under their snake_case names on its Client instances (notes §6). One type and one accessor for
 * every place that reads them, whether from a stored client or from the engine's Client.
 */
export type GatehouseClientMetadata = {
  /** The APIs (resource identifiers) the client may get tokens for. */
  allowed_resources?: string[];
  /** Of those APIs' scopes, the ones it may ask for. */
  allowed_api_scopes?: string[];
  /** An API's own client: may introspect tokens for its APIs, and read the revocation feed. */
  can_introspect?: boolean;
  /** One of the operator's own apps: users are never asked to consent to it. */
  first_party?: boolean;
  refresh_token_grace_seconds?: number;
  refresh_token_idle_seconds?: number;
  refresh_token_absolute_seconds?: number;
  /** Its own token-endpoint rate (else TOKEN_RATE_LIMIT_PER_SECOND); 0 = unlimited. */
  token_rate_limit_per_second?: number;
  /** The client registered itself: RFC 7591 under the open policy or a token, or a metadata document. */
  self_registered?: 'open' | 'token' | 'metadata_document';
};

/** The properties oidc-provider is told to keep (extraClientMetadata.properties). */
export const EXTRA_CLIENT_METADATA = [
  'allowed_resources',
  'allowed_api_scopes',
  'can_introspect',
  'refresh_token_grace_seconds',
  'refresh_token_idle_seconds',
  'refresh_token_absolute_seconds',
  'first_party',
  'token_rate_limit_per_second',
  'self_registered',
] as const satisfies readonly (keyof GatehouseClientMetadata)[];

/** The extras of a client: an oidc-provider Client, stored metadata, or nothing (no client). */
export const clientExtras = (client: unknown): Readonly<GatehouseClientMetadata> => (client ?? {}) as GatehouseClientMetadata;
