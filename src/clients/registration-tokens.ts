import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import { isStandardScope } from './standard-scopes.ts';

/** What a client that registers itself may get (oidc/self-registration.ts shapes its metadata to it). */
export type SelfRegistrationGrant = Readonly<{
  via: 'open' | 'token' | 'metadata_document';
  apis: readonly string[];
  /** Undefined: any scope the client names (each API's own scopes cap it at token time). */
  apiScopes: readonly string[] | undefined;
  mayBeConfidential: boolean;
}>;

export const DEFAULT_REGISTRATION_TOKEN_TTL_SECONDS = 7 * 86_400;
const MAX_TTL_SECONDS = 365 * 86_400;

type Row = { apis: string[]; api_scopes: string[]; is_public_only: boolean };
const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Initial access tokens for REGISTRATION=token (RFC 7591 §3): an operator makes one naming the
 * APIs and scopes the clients registering with it may get; it may be used until it expires. The
 * token is the engine's InitialAccessToken (`issue`, through its adapter); what it grants is
 * kept here under the token's digest.
 */
export function createRegistrationTokens(deps: {
  knex: Knex;
  resources: Pick<ResourceService, 'find'>;
  audit?: Pick<AuditLog, 'record'>;
  /** Makes the engine's InitialAccessToken, returns its value. */
  issue: (expiresInSeconds: number) => Promise<string>;
}) {
  return {
    async create(
      input: { apis?: string[]; scope?: string; expiresInSeconds?: number; isPublicOnly?: boolean; note?: string },
      actor: Actor = { via: 'cli' },
    ): Promise<{ token: string; expiresAt: Date; apis: string[]; apiScopes: string[]; isPublicOnly: boolean }> {
      const ttl = input.expiresInSeconds ?? DEFAULT_REGISTRATION_TOKEN_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TTL_SECONDS) {
        throw new AppError('invalid_request', `expiry must be an integer between 60 and ${MAX_TTL_SECONDS} seconds`);
      }
      const apis = [...new Set(input.apis ?? [])];
      const offered = new Set<string>();
      for (const identifier of apis) {
        const api = await deps.resources.find(identifier);
        if (!api) throw new AppError('invalid_request', `unknown resource: ${identifier}`);
        for (const s of api.scopes) offered.add(s);
      }
      const asked = [...new Set((input.scope ?? '').split(' ').filter((s) => s && !isStandardScope(s)))];
      const stray = asked.find((s) => !offered.has(s));
      if (stray) throw new AppError('invalid_request', `scope ${stray} is not offered by any of the token's resources`);
      const apiScopes = asked.length ? asked : [...offered]; // no --scope: every scope of the APIs
      const token = await deps.issue(ttl);
      const expiresAt = new Date(Date.now() + ttl * 1000);
      await deps.knex('registration_tokens').insert({
        digest: digest(token),
        apis: JSON.stringify(apis),
        api_scopes: JSON.stringify(apiScopes),
        is_public_only: input.isPublicOnly === true,
        note: input.note ?? null,
        expires_at: expiresAt,
      });
      await deps.audit?.record({
        type: 'registration_token.created',
        ip: actor.ip,
        details: { apis, api_scopes: apiScopes, public_only: input.isPublicOnly === true, expires_at: expiresAt.toISOString(), via: actor.via },
      });
      return { token, expiresAt, apis, apiScopes, isPublicOnly: input.isPublicOnly === true };
    },

    /** What a presented token grants, if it is one of ours and has not expired. */
    async grantFor(token: string): Promise<SelfRegistrationGrant | undefined> {
      if (!token || token.length > 512) return undefined;
      const row: Row | undefined = await deps
        .knex('registration_tokens')
        .where('digest', digest(token))
        .where('expires_at', '>', deps.knex.fn.now())
        .first('apis', 'api_scopes', 'is_public_only');
      return row && { via: 'token', apis: row.apis, apiScopes: row.api_scopes, mayBeConfidential: !row.is_public_only };
    },
  };
}
