import { randomBytes } from 'node:crypto';
import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { createCache } from '../cache/create-cache.ts';
import type { ChangeNotices } from '../db/change-notices.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import { isAcceptableRedirectUri, REDIRECT_URI_RULE } from '../validation/redirect-uri.ts';
import { isSecureUrl } from '../validation/secure-url.ts';
import { isBuiltInClient } from './built-in-clients.ts';
import { clientKeys } from './client-keys.ts';
import type { ClientMetadata, ClientRepository, StoredClient } from './client-repository.ts';
import { generateClientSecret, hashClientSecret, isHashedClientSecret } from './client-secret.ts';
import { checkPostLogoutRedirectUris } from './post-logout-redirect-uris.ts';
import { isStandardScope } from './standard-scopes.ts';

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
/** Methods that authenticate with a server-generated secret (the others have none to rotate). */
const SECRET_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post'];
/** OIDC Dynamic Client Registration §2: `native` apps run on the user's device (RFC 8252). */
export const APPLICATION_TYPES = ['web', 'native'] as const;
// RFC 8628's grant (devices, command-line tools) is a URN; `device_code` is accepted as its short name.
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT] as const;

export type RegisterClientInput = {
  name: string;
  redirectUris?: string[];
  /** Where RP-initiated logout may return the user (exact match). */
  postLogoutRedirectUris?: string[];
  /** `native` (RFC 8252): a public native client's loopback redirect URIs match any port. Default `web`. */
  applicationType?: string;
  /** private_key_jwt: the client's public keys, at a URL or inline (a JWK Set). Such a client gets no secret. */
  jwksUri?: string;
  jwks?: unknown;
  grantTypes?: string[];
  scope?: string;
  resources?: string[];
  tokenEndpointAuthMethod?: string;
  /** May call the introspection endpoint for tokens issued to other clients (an API's own client). */
  canIntrospect?: boolean;
  /** One of the operator's own apps: users are never asked to consent to it. */
  isFirstParty?: boolean;
  /** Refresh-token policy overrides (seconds); the server's defaults apply when absent. */
  refreshTokenGraceSeconds?: number;
  refreshTokenIdleSeconds?: number;
  refreshTokenAbsoluteSeconds?: number;
  /** Token requests per second for this client on each instance (overrides the server's; 0 = none). */
  tokenRateLimitPerSecond?: number;
  /** OIDC Back-Channel Logout 1.0: where logout tokens are posted when its users sign out. */
  backchannelLogoutUri?: string;
};

export type ClientServiceDeps = {
  repository: ClientRepository;
  resources: ResourceService;
  secretPepper: Buffer;
  /** The protocol engine's own metadata validation (oidc-provider's Client.validate). */
  validateMetadata: (metadata: ClientMetadata) => Promise<void>;
  notices: ChangeNotices;
  /** The server's absolute refresh-token lifetime: a client may shorten it, not extend it. */
  maxRefreshTokenAbsoluteSeconds: number;
  /** Every change goes to the audit trail, with who made it. */
  audit?: Pick<AuditLog, 'record'>;
  /**
   * What deleting a client revokes: every token issued to it (a revocation event, recorded before
   * the client goes), then whatever is stored for it (grants, refresh tokens, sessions' entries).
   */
  revocation?: { revokeTokens(clientId: string): Promise<void>; purgeStored(clientId: string): Promise<{ deleted: number }> };
};

const CLI: Actor = { via: 'cli' };

export function createClientService(deps: ClientServiceDeps) {
  const audit = (type: string, clientId: string, actor: Actor, details: Record<string, unknown> = {}) =>
    deps.audit?.record({ type, clientId, ip: actor.ip, details: { ...details, via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) } });
  const cache = createCache<ClientMetadata>({
    ttlMs: 60_000, // a safety net: change notices normally invalidate at once
    max: 10_000,
    load: async (id) => (await deps.repository.findById(id))?.metadata,
  });
  deps.notices.subscribe((n) => n.topic === 'client' && cache.invalidate(n.id));
  // While notices may be missed, what is cached is only a fallback for when Postgres cannot answer.
  deps.notices.onListening((isListening) => cache.setTrusted(isListening));

  const changed = async (clientId: string) => {
    cache.invalidate(clientId);
    await deps.notices.publish({ topic: 'client', id: clientId });
  };

  const service = {
    /** Registers a client; the plaintext secret is returned here once and never stored. */
    async registerClient(input: RegisterClientInput, actor: Actor = CLI): Promise<{ client: ClientMetadata; clientSecret?: string }> {
      const { stored, clientSecret } = await prepareClient(input, deps);
      await deps.repository.insert(stored);
      await changed(stored.client_id);
      await audit('client.created', stored.client_id, actor, { name: stored.client_name, grant_types: stored.grant_types });
      return { client: redact(stored), clientSecret };
    },

    async rotateClientSecret(clientId: string, actor: Actor = CLI): Promise<{ client: ClientMetadata; clientSecret: string }> {
      const existing = await deps.repository.findById(clientId);
      if (!existing) throw new AppError('not_found', `no client ${clientId}`, 404);
      refuseBuiltIn(existing.metadata);
      if (!SECRET_METHODS.includes(String(existing.metadata.token_endpoint_auth_method))) {
        throw new AppError(
          'invalid_client',
          `a ${existing.metadata.token_endpoint_auth_method === 'none' ? 'public' : 'private_key_jwt'} client has no secret`,
        );
      }
      const clientSecret = generateClientSecret();
      await deps.repository.updateMetadata({ ...existing.metadata, client_secret: hashClientSecret(clientSecret, deps.secretPepper) });
      await changed(clientId);
      await audit('client.secret_rotated', clientId, actor);
      return { client: redact(existing.metadata), clientSecret };
    },

    async deleteClient(clientId: string, actor: Actor = CLI): Promise<void> {
      const existing = await deps.repository.findById(clientId);
      if (!existing) throw new AppError('not_found', `no client ${clientId}`, 404);
      refuseBuiltIn(existing.metadata);
      // Its tokens first: should this fail, the client is still there to delete again.
      await deps.revocation?.revokeTokens(clientId);
      if (!(await deps.repository.delete(clientId))) throw new AppError('not_found', `no client ${clientId}`, 404);
      await changed(clientId);
      const purged = await deps.revocation?.purgeStored(clientId);
      await audit('client.deleted', clientId, actor, purged ? { deleted: purged.deleted } : {});
    },

    async listClients(): Promise<ClientMetadata[]> {
      // The built-in account page client is Gatehouse's own, not an operator's (built-in-clients.ts).
      return (await deps.repository.list()).filter((c: StoredClient) => !isBuiltInClient(c.metadata)).map((c: StoredClient) => redact(c.metadata));
    },

    async showClient(clientId: string): Promise<ClientMetadata> {
      const c = await deps.repository.findById(clientId);
      if (!c) throw new AppError('not_found', `no client ${clientId}`, 404);
      return redact(c.metadata);
    },

    /** Hot path (every token request): cached, invalidated by change notices. Includes the secret hash. */
    findMetadata: (clientId: string) => cache.get(clientId),

    saveSelfRegisteredClient: (metadata: ClientMetadata, actor: Actor) => saveSelfRegisteredClient(deps, changed, audit, metadata, actor),
    /**
     * A client ID metadata document's client (its https URL is its id) gets a row of its own the
     * first time it is used, without its metadata (that is fetched from the URL each time its
     * cache runs out): so that operators see it (`clients list`, the admin API), can delete it
     * (which revokes what it holds), and users' consents and grants with it have a client to
     * belong to (and go with it). The Client adapter never serves this row as metadata.
     */
    async anchorMetadataDocumentClient(clientId: string, name: string | undefined): Promise<void> {
      const inserted = await deps.repository.insertIfAbsent({
        client_id: clientId,
        ...(name ? { client_name: name.slice(0, 200) } : {}),
        self_registered: 'metadata_document',
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        token_endpoint_auth_method: 'none',
      });
      if (!inserted) return;
      await changed(clientId);
      await audit('client.created', clientId, { via: 'registration' }, { name, registration: 'metadata_document' });
    },
    deleteSelfRegisteredClient: async (clientId: string, actor: Actor) => {
      const existing = await deps.repository.findById(clientId);
      if (!existing?.metadata.self_registered) throw new AppError('forbidden', 'only a dynamically registered client is deleted this way', 403);
      await service.deleteClient(clientId, actor);
    },
  };
  return service;
}

/** What deciding on a new client needs: no storage but the API lookup (resources are cached). */
export type NewClientChecks = Pick<ClientServiceDeps, 'secretPepper' | 'validateMetadata' | 'maxRefreshTokenAbsoluteSeconds'> & {
  resources: Pick<ResourceService, 'find'>;
};

/**
 * Everything registerClient decides before it stores anything: our own rules (buildMetadata),
 * the secret, then the protocol engine's own validation. Returns the client as it would be saved
 * (its secret as a keyed hash) and the plaintext secret, if it gets one. Apart from the API
 * lookup it touches no storage, so the rules can be tested without a database.
 */
export async function prepareClient(input: RegisterClientInput, deps: NewClientChecks): Promise<{ stored: ClientMetadata; clientSecret?: string }> {
  const metadata = await buildMetadata(input, deps);
  // Public clients and private_key_jwt clients hold no secret of ours.
  const clientSecret = SECRET_METHODS.includes(String(metadata.token_endpoint_auth_method)) ? generateClientSecret() : undefined;
  const stored = clientSecret ? { ...metadata, client_secret: hashClientSecret(clientSecret, deps.secretPepper) } : metadata;
  await deps.validateMetadata(stored);
  return { stored, clientSecret };
}

async function buildMetadata(input: RegisterClientInput, deps: Pick<NewClientChecks, 'resources' | 'maxRefreshTokenAbsoluteSeconds'>): Promise<ClientMetadata> {
  const name = input.name.trim();
  if (!name) throw new AppError('invalid_client', 'name must not be empty');
  const redirectUris = input.redirectUris ?? [];
  // The code travels to the redirect URI: validation/redirect-uri.ts says which ones we take.
  const unsafe = redirectUris.find((uri) => !isAcceptableRedirectUri(uri));
  if (unsafe !== undefined) throw new AppError('invalid_client', `redirect URI ${JSON.stringify(unsafe.slice(0, 200))} must be an ${REDIRECT_URI_RULE}`);
  const postLogoutRedirectUris = checkPostLogoutRedirectUris(input.postLogoutRedirectUris);
  const keys = clientKeys(input);
  // Keys given: the client signs its assertions (RFC 7523), the BCP for a service with no shared secret.
  const authMethod = input.tokenEndpointAuthMethod ?? (keys ? 'private_key_jwt' : 'client_secret_basic');
  if (!(AUTH_METHODS as readonly string[]).includes(authMethod)) {
    throw new AppError('invalid_client', `token endpoint auth method must be one of ${AUTH_METHODS.join(', ')}`);
  }
  if (authMethod === 'private_key_jwt' && !keys) throw new AppError('invalid_client', "private_key_jwt needs the client's public keys: --jwks-uri or --jwks");
  if (authMethod !== 'private_key_jwt' && keys) throw new AppError('invalid_client', 'jwks and jwks_uri are for private_key_jwt clients only');
  const applicationType = input.applicationType ?? 'web';
  if (!(APPLICATION_TYPES as readonly string[]).includes(applicationType)) {
    throw new AppError('invalid_client', `application type must be one of ${APPLICATION_TYPES.join(', ')}`);
  }
  const grantTypes = [
    ...new Set(
      (input.grantTypes?.length ? input.grantTypes : redirectUris.length ? ['authorization_code', 'refresh_token'] : ['client_credentials']).map((g) =>
        g === 'device_code' ? DEVICE_CODE_GRANT : g,
      ),
    ),
  ];
  const unknownGrant = grantTypes.find((g) => !(GRANT_TYPES as readonly string[]).includes(g));
  if (unknownGrant) throw new AppError('invalid_client', `unsupported grant type: ${unknownGrant}`);
  if (authMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw new AppError('invalid_client', 'a public client (none) cannot use client_credentials');
  }
  const usesCode = grantTypes.includes('authorization_code');
  if (usesCode && redirectUris.length === 0) throw new AppError('invalid_client', 'authorization_code needs at least one --redirect-uri');

  const resources = [...new Set(input.resources ?? [])];
  const apis = await Promise.all(resources.map(async (r) => ({ identifier: r, api: await deps.resources.find(r) })));
  const missing = apis.find((a) => !a.api);
  if (missing) throw new AppError('invalid_client', `unknown resource: ${missing.identifier}`);

  const scopes = [...new Set((input.scope ?? '').split(' ').filter(Boolean))];
  const apiScopes = scopes.filter((s) => !isStandardScope(s));
  const offered = new Set(apis.flatMap((a) => a.api!.scopes));
  const stray = apiScopes.find((s) => !offered.has(s));
  if (stray) throw new AppError('invalid_client', `scope ${stray} is not offered by any of the client's resources`);
  const standard = scopes.filter(isStandardScope);
  const refreshPolicy = refreshTokenPolicy(input, deps.maxRefreshTokenAbsoluteSeconds);
  const backchannel = backchannelLogout(input.backchannelLogoutUri);

  return {
    // Hex, not base64url: an id starting with '-' would read as an option to the CLI (and to shells' tools).
    client_id: randomBytes(16).toString('hex'),
    client_name: name,
    redirect_uris: redirectUris,
    ...(postLogoutRedirectUris.length ? { post_logout_redirect_uris: postLogoutRedirectUris } : {}),
    ...(applicationType === 'native' ? { application_type: 'native' } : {}),
    grant_types: grantTypes,
    response_types: usesCode ? ['code'] : [], // notes §6: no redirect URIs → no response types
    token_endpoint_auth_method: authMethod,
    ...keys,
    // Omitted scope = every standard scope; API scopes are capped separately below (notes §8).
    ...(standard.length ? { scope: standard.join(' ') } : {}),
    allowed_resources: resources,
    allowed_api_scopes: apiScopes,
    can_introspect: input.canIntrospect === true,
    ...(input.isFirstParty ? { first_party: true } : {}),
    ...refreshPolicy,
    ...tokenRateLimit(input.tokenRateLimitPerSecond),
    ...backchannel,
  };
}

/**
 * A client that registered itself (RFC 7591) or updated its registration (RFC 7592), as the
 * protocol engine validated it and the registration's grant shaped it (oidc/self-registration.ts):
 * an ordinary client from here on, in Postgres, with its secret as a keyed hash (the engine made
 * the secret and returns it to the client once), cached, announced and audited like any other.
 * What the grant shaped is checked again against the APIs themselves; an update may never widen
 * the APIs or scopes the client has, nor touch a client an operator made.
 */
async function saveSelfRegisteredClient(
  deps: ClientServiceDeps,
  changed: (clientId: string) => Promise<void>,
  audit: (type: string, clientId: string, actor: Actor, details?: Record<string, unknown>) => Promise<void> | undefined,
  metadata: ClientMetadata,
  actor: Actor,
): Promise<void> {
  if (!metadata.self_registered) throw new AppError('invalid_client_metadata', 'not a self-registered client');
  const existing = await deps.repository.findById(metadata.client_id);
  if (existing && !existing.metadata.self_registered) throw new AppError('forbidden', 'this client is managed by an operator', 403);
  const apis = (metadata.allowed_resources as string[] | undefined) ?? [];
  const apiScopes = (metadata.allowed_api_scopes as string[] | undefined) ?? [];
  if (existing) {
    const had = new Set((existing.metadata.allowed_api_scopes as string[] | undefined) ?? []);
    const hadApis = new Set((existing.metadata.allowed_resources as string[] | undefined) ?? []);
    if (apis.some((a) => !hadApis.has(a)) || apiScopes.some((s) => !had.has(s))) {
      throw new AppError('invalid_client_metadata', 'an update cannot widen the APIs or scopes of a registration');
    }
  }
  const offered = new Set<string>();
  for (const identifier of apis) {
    const api = await deps.resources.find(identifier);
    if (!api) throw new AppError('invalid_client_metadata', `API ${identifier} is not available`);
    for (const s of api.scopes) offered.add(s);
  }
  const stray = apiScopes.find((s) => !offered.has(s));
  if (stray) throw new AppError('invalid_client_metadata', `scope ${stray} is not offered by any API this client may use`);
  const secret = metadata.client_secret;
  const stored: ClientMetadata =
    typeof secret === 'string' && secret && !isHashedClientSecret(secret)
      ? { ...metadata, client_secret: hashClientSecret(secret, deps.secretPepper) }
      : metadata;
  if (existing) await deps.repository.updateMetadata(stored);
  else await deps.repository.insert(stored);
  await changed(metadata.client_id);
  await audit(existing ? 'client.updated' : 'client.created', metadata.client_id, actor, {
    name: metadata.client_name,
    grant_types: metadata.grant_types,
    registration: metadata.self_registered,
  });
}

function backchannelLogout(uri: string | undefined): Record<string, string> {
  if (uri === undefined) return {};
  // The logout token goes there with the user's subject: TLS, as for redirect URIs (RFC 9700 §2.6).
  if (uri.includes('#') || !isSecureUrl(uri)) {
    throw new AppError('invalid_client', 'back-channel logout URI must be an https:// URL without a fragment (http:// only on a loopback host)');
  }
  return { backchannel_logout_uri: uri };
}

function refreshTokenPolicy(input: RegisterClientInput, maxAbsolute: number): Record<string, number> {
  const out: Record<string, number> = {};
  const check = (value: number | undefined, name: string, min: number, max: number, key: string) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new AppError('invalid_client', `${name} must be an integer between ${min} and ${max} seconds`);
    }
    out[key] = value;
  };
  check(input.refreshTokenGraceSeconds, 'refresh token grace', 0, 300, 'refresh_token_grace_seconds');
  check(input.refreshTokenIdleSeconds, 'refresh token idle lifetime', 60, maxAbsolute, 'refresh_token_idle_seconds');
  check(input.refreshTokenAbsoluteSeconds, 'refresh token absolute lifetime', 60, maxAbsolute, 'refresh_token_absolute_seconds');
  return out;
}

function tokenRateLimit(perSecond: number | undefined): Record<string, number> {
  if (perSecond === undefined) return {};
  if (!Number.isFinite(perSecond) || perSecond < 0 || perSecond > 1_000_000) {
    throw new AppError('invalid_client', 'token rate limit must be between 0 and 1000000 requests per second');
  }
  return { token_rate_limit_per_second: perSecond };
}

/** Gatehouse's own clients are part of the server: nothing an operator may rotate or delete. */
function refuseBuiltIn(metadata: ClientMetadata): void {
  if (isBuiltInClient(metadata)) throw new AppError('forbidden', 'this client is built into Gatehouse (the account page)', 403);
}

/** What leaves the service for display: never the secret hash. */
function redact(metadata: ClientMetadata): ClientMetadata {
  const { client_secret: _hash, ...rest } = metadata;
  return rest as ClientMetadata;
}

export type ClientService = ReturnType<typeof createClientService>;
