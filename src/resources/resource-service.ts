import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { createCache } from '../cache/create-cache.ts';
import { isStandardScope } from '../clients/standard-scopes.ts';
import type { ChangeNotices } from '../db/change-notices.ts';
import { AppError } from '../errors/app-error.ts';
import { checkTokenClaimNames } from '../permissions/token-claims.ts';
import { DEFAULT_SIGNING_ALG, isSigningAlg, SIGNING_ALGS, type SigningAlg } from '../signing-keys/signer.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import { isSecureUrl } from '../validation/secure-url.ts';
import type { ResourceRepository, ResourceServer } from './resource-repository.ts';

export type { ResourceServer };

// Short by default: a JWT access token cannot be recalled before it expires.
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 600;
// RFC 6749 §3.3 scope-token: printable ASCII except space, quote and backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

const checkSigningAlg = (alg: string | undefined): SigningAlg | undefined => {
  if (alg === undefined || isSigningAlg(alg)) return alg;
  throw new AppError('invalid_resource', `signing algorithm must be one of ${SIGNING_ALGS.join(', ')}`);
};

export function createResourceService(deps: {
  repository: ResourceRepository;
  notices: ChangeNotices;
  /** APIs of Gatehouse itself (the admin API): known to every instance, never stored. */
  builtIn?: ResourceServer[];
  audit?: Pick<AuditLog, 'record'>;
  /** An API chose a signing algorithm: its key is announced now (the key schedule's next pass). */
  onSigningAlgorithmsChanged?: () => Promise<unknown>;
}) {
  const builtIn = new Map((deps.builtIn ?? []).map((r) => [r.identifier, r]));
  const cache = createCache<ResourceServer>({
    ttlMs: 60_000,
    max: 1_000,
    load: (id) => deps.repository.findByIdentifier(id),
  });
  deps.notices.subscribe((n) => n.topic === 'resource' && cache.invalidate(n.id));
  // While notices may be missed, what is cached is only a fallback for when Postgres cannot answer.
  deps.notices.onListening((isListening) => cache.setTrusted(isListening));

  return {
    async createResource(
      input: { identifier: string; scope: string; accessTokenTtlSeconds?: number; isRbac?: boolean; tokenClaims?: string[]; signingAlg?: string },
      actor: Actor = { via: 'cli' },
    ): Promise<ResourceServer> {
      if (builtIn.has(input.identifier)) throw new AppError('conflict', `resource ${input.identifier} is built in`, 409);
      // RFC 8707 §2: an absolute URI without a fragment. And https (plain http only on a loopback
      // host, for local development): the identifier is where clients send the tokens, and
      // anything else (javascript:, urn:) would only ever be shown, or followed, as a link.
      if (!URL.canParse(input.identifier)) throw new AppError('invalid_resource', 'identifier must be an absolute URI');
      if (input.identifier.includes('#')) throw new AppError('invalid_resource', 'identifier must not contain a fragment');
      if (!isSecureUrl(input.identifier)) {
        throw new AppError('invalid_resource', 'identifier must be an https:// URI (http:// only on a loopback host)');
      }
      const scopes = [...new Set(input.scope.split(' ').filter(Boolean))];
      if (scopes.length === 0) throw new AppError('invalid_resource', 'at least one scope is required');
      const bad = scopes.find((s) => !SCOPE_TOKEN.test(s) || isStandardScope(s));
      if (bad) throw new AppError('invalid_resource', `invalid scope: ${bad}`);
      const ttl = input.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < 30 || ttl > 86_400) {
        throw new AppError('invalid_resource', 'access token TTL must be an integer between 30 and 86400 seconds');
      }
      const tokenClaims = checkTokenClaimNames(input.tokenClaims ?? []);
      const signingAlg = checkSigningAlg(input.signingAlg) ?? DEFAULT_SIGNING_ALG;
      const resource = { identifier: input.identifier, scopes, accessTokenTtlSeconds: ttl, isRbac: input.isRbac === true, tokenClaims, signingAlg };
      if (!(await deps.repository.insert(resource))) {
        throw new AppError('conflict', `resource ${input.identifier} already exists`, 409);
      }
      cache.invalidate(resource.identifier);
      await deps.notices.publish({ topic: 'resource', id: resource.identifier });
      if (signingAlg !== DEFAULT_SIGNING_ALG) await deps.onSigningAlgorithmsChanged?.();
      await deps.audit?.record({
        type: 'resource.created',
        ip: actor.ip,
        details: {
          identifier: resource.identifier,
          scopes: resource.scopes,
          ...(resource.isRbac ? { rbac: true } : {}),
          ...(tokenClaims.length ? { token_claims: tokenClaims } : {}),
          ...(signingAlg !== DEFAULT_SIGNING_ALG ? { signing_alg: signingAlg } : {}),
          via: actor.via,
          ...(actor.clientId ? { by_client: actor.clientId } : {}),
        },
      });
      return resource;
    },
    /**
     * Turns role checking on or off and replaces the declared token claims. Every instance
     * drops its cached copy (change notice), so the next token request for the API sees it.
     */
    async updateResource(
      identifier: string,
      change: { isRbac?: boolean; tokenClaims?: string[]; signingAlg?: string },
      actor: Actor = { via: 'cli' },
    ): Promise<ResourceServer> {
      if (builtIn.has(identifier)) throw new AppError('conflict', `resource ${identifier} is built in`, 409);
      const tokenClaims = change.tokenClaims === undefined ? undefined : checkTokenClaimNames(change.tokenClaims);
      const signingAlg = checkSigningAlg(change.signingAlg);
      if (change.isRbac === undefined && tokenClaims === undefined && signingAlg === undefined) throw new AppError('invalid_request', 'nothing to change');
      // An identifier no API can have is not looked up (a NUL byte would be a Postgres error, notes §13).
      const updated =
        URL.canParse(identifier) && !hasControlCharacters(identifier)
          ? await deps.repository.update(identifier, { isRbac: change.isRbac, tokenClaims, signingAlg })
          : undefined;
      if (!updated) throw new AppError('not_found', `no resource ${identifier}`, 404);
      cache.invalidate(identifier);
      await deps.notices.publish({ topic: 'resource', id: identifier });
      if (signingAlg !== undefined) await deps.onSigningAlgorithmsChanged?.();
      await deps.audit?.record({
        type: 'resource.updated',
        ip: actor.ip,
        details: {
          identifier,
          ...(change.isRbac === undefined ? {} : { rbac: updated.isRbac }),
          ...(tokenClaims === undefined ? {} : { token_claims: updated.tokenClaims }),
          ...(signingAlg === undefined ? {} : { signing_alg: updated.signingAlg }),
          via: actor.via,
          ...(actor.clientId ? { by_client: actor.clientId } : {}),
        },
      });
      return updated;
    },
    listResources: () => deps.repository.list(),
    /** The longest access-token lifetime of any API (signing keys are kept published that long). */
    maxAccessTokenTtlSeconds: async () =>
      Math.max(
        (await deps.repository.maxAccessTokenTtlSeconds()) ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
        ...[...builtIn.values()].map((r) => r.accessTokenTtlSeconds),
      ),
    /** Algorithms with a key of their own: RS256 always, and whatever an API chose. */
    signingAlgorithms: async (): Promise<SigningAlg[]> => [...new Set([DEFAULT_SIGNING_ALG, ...(await deps.repository.signingAlgorithms())])],
    /** Hot path (every token request for an API): cached. */
    find: async (identifier: string) => builtIn.get(identifier) ?? cache.get(identifier),
  };
}

export type ResourceService = ReturnType<typeof createResourceService>;
