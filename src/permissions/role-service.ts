import type { Account } from '../accounts/account-repository.ts';
import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResourceServer } from '../resources/resource-repository.ts';
import type { RevocationList } from '../revocation/revocation-list.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import type { PermissionRepository, Role } from './permission-repository.ts';
import { checkAttributes, NO_PERMISSIONS, roleScopes, type UserPermissions } from './token-claims.ts';

export type { Role };

// Shown in tokens and headers: plain, short, no spaces (a `role=` query lists several with spaces).
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

// Anything else cannot name a stored API or role; refused before any query (NUL bytes make
// Postgres fail with 22021, notes §13).
const isPlausibleIdentifier = (s: unknown): s is string => typeof s === 'string' && s.length <= 2000 && !hasControlCharacters(s);
const isPlausibleRole = (s: unknown): s is string => typeof s === 'string' && ROLE_NAME.test(s);

const by = (actor: Actor) => ({ via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) });

/**
 * Roles per API and the users who hold them (the roles issue). Changes take effect at the next
 * token or refresh: the token endpoint reads a user's roles afresh for every token of an --rbac
 * API (no cache to invalidate). Taking a role away may also revoke the user's live access tokens
 * for that API at once (a `subject_audience` revocation event, README "Revocation").
 */
export function createRoleService(deps: {
  repository: PermissionRepository;
  resources: { find(identifier: string): Promise<ResourceServer | undefined> };
  accounts: { findByEmail(email: string): Promise<Account | undefined> };
  revocations: Pick<RevocationList, 'record'>;
  maxTokenTtlSeconds: () => Promise<number>;
  audit?: Pick<AuditLog, 'record'>;
}) {
  /** Only stored APIs have roles: the built-in admin API is for client credentials. */
  const storedApi = async (identifier: string) => {
    const api = isPlausibleIdentifier(identifier) ? await deps.resources.find(identifier) : undefined;
    if (!api) throw new AppError('not_found', `no resource ${identifier}`, 404);
    return api;
  };
  const user = async (email: string) => {
    const account = await deps.accounts.findByEmail(email);
    if (!account) throw new AppError('not_found', `no user ${email}`, 404);
    return account;
  };
  /** Every access token of the user for the API issued up to now stops working (RFC 9068 `aud`). */
  const revokeTokens = async (accountId: string, resource: string) => {
    const now = Math.floor(Date.now() / 1000);
    await deps.revocations.record({ type: 'subject_audience', sub: accountId, aud: resource, iat_before: now, exp: now + (await deps.maxTokenTtlSeconds()) });
  };

  return {
    async createRole(input: { resource: string; name: string; scope?: string }, actor: Actor = { via: 'cli' }): Promise<Role> {
      const api = await storedApi(input.resource);
      if (!ROLE_NAME.test(input.name)) throw new AppError('invalid_role', 'a role name is 1-64 letters, digits and _ . : - (starting with a letter or digit)');
      const scopes = [...new Set((input.scope ?? '').split(' ').filter(Boolean))];
      const unknown = scopes.find((s) => !api.scopes.includes(s));
      if (unknown) throw new AppError('invalid_role', `${unknown} is not a scope of ${api.identifier}`);
      const role = { resource: api.identifier, name: input.name, scopes };
      // A built-in API is found but never stored: the foreign key refuses it.
      const isInserted = await deps.repository.insertRole(role).catch((err: { code?: string }) => {
        if (err.code === '23503') throw new AppError('invalid_role', `${api.identifier} is built in and has no roles`);
        throw err;
      });
      if (!isInserted) throw new AppError('conflict', `${api.identifier} already has a role ${input.name}`, 409);
      await deps.audit?.record({ type: 'role.created', ip: actor.ip, details: { resource: role.resource, role: role.name, scopes, ...by(actor) } });
      return role;
    },

    async listRoles(resource: string): Promise<Role[]> {
      await storedApi(resource);
      return deps.repository.listRoles(resource);
    },

    /** The role's users lose it; with revokeTokens their live tokens for the API stop working too. */
    async deleteRole(input: { resource: string; name: string; revokeTokens?: boolean }, actor: Actor = { via: 'cli' }) {
      const known = isPlausibleIdentifier(input.resource) && isPlausibleRole(input.name);
      const { isDeleted, accountIds } = known ? await deps.repository.deleteRole(input.resource, input.name) : { isDeleted: false, accountIds: [] };
      if (!isDeleted) throw new AppError('not_found', `${input.resource} has no role ${input.name}`, 404);
      if (input.revokeTokens) for (const id of accountIds) await revokeTokens(id, input.resource);
      await deps.audit?.record({
        type: 'role.deleted',
        ip: actor.ip,
        details: { resource: input.resource, role: input.name, users: accountIds.length, tokens_revoked: input.revokeTokens === true, ...by(actor) },
      });
      return { resource: input.resource, role: input.name, users: accountIds.length, tokensRevoked: input.revokeTokens === true };
    },

    async grantRole(input: { email: string; resource: string; role: string }, actor: Actor = { via: 'cli' }) {
      const account = await user(input.email);
      const known = isPlausibleIdentifier(input.resource) && isPlausibleRole(input.role);
      if (!known || !(await deps.repository.findRole(input.resource, input.role)))
        throw new AppError('not_found', `${input.resource} has no role ${input.role}`, 404);
      const outcome = await deps.repository.grant(account.id, input.resource, input.role);
      if (outcome === undefined) throw new AppError('not_found', 'the user or the role no longer exists', 404);
      if (outcome) {
        await deps.audit?.record({
          type: 'user.role_granted',
          accountId: account.id,
          ip: actor.ip,
          details: { resource: input.resource, role: input.role, ...by(actor) },
        });
      }
      return { accountId: account.id, resource: input.resource, role: input.role, isNew: outcome };
    },

    async revokeRole(input: { email: string; resource: string; role: string; revokeTokens?: boolean }, actor: Actor = { via: 'cli' }) {
      const account = await user(input.email);
      const known = isPlausibleIdentifier(input.resource) && isPlausibleRole(input.role);
      const wasHeld = known && (await deps.repository.revoke(account.id, input.resource, input.role));
      if (!wasHeld) throw new AppError('not_found', `${input.email} does not have the role ${input.role} at ${input.resource}`, 404);
      // After the removal: a token issued from here on is narrowed already, and the cut-off catches
      // every one issued before (a token issued in this very second is refused too; the client
      // simply refreshes again).
      if (input.revokeTokens) await revokeTokens(account.id, input.resource);
      await deps.audit?.record({
        type: 'user.role_revoked',
        accountId: account.id,
        ip: actor.ip,
        details: { resource: input.resource, role: input.role, tokens_revoked: input.revokeTokens === true, ...by(actor) },
      });
      return { accountId: account.id, resource: input.resource, role: input.role, tokensRevoked: input.revokeTokens === true };
    },

    /** Replaces the user's attributes; `{}` removes them. Only key names are audited. */
    async setAttributes(input: { email: string; attributes: unknown }, actor: Actor = { via: 'cli' }) {
      const attributes = checkAttributes(input.attributes);
      const account = await user(input.email);
      if (!(await deps.repository.setAttributes(account.id, attributes))) throw new AppError('not_found', `no user ${input.email}`, 404);
      await deps.audit?.record({
        type: 'user.attributes_updated',
        accountId: account.id,
        ip: actor.ip,
        details: { keys: Object.keys(attributes), ...by(actor) },
      });
      return { accountId: account.id, attributes };
    },

    /** What an operator sees: every role of the user and their attributes. */
    async permissionsOf(email: string) {
      const account = await user(email);
      const [roles, attributes] = await Promise.all([deps.repository.rolesOf(account.id), deps.repository.attributesOf(account.id)]);
      return { accountId: account.id, roles, attributes };
    },

    /** The token endpoint's read: fresh every time (see above). */
    forToken: (accountId: string, resource: string): Promise<UserPermissions> => deps.repository.forToken(accountId, resource),

    /**
     * Of `scopes` of an API, those a user token would carry: all of them, unless the API checks
     * roles; then only those the user's roles grant.
     */
    async effectiveScopes(accountId: string | undefined, resource: string, scopes: string[]): Promise<string[]> {
      const api = isPlausibleIdentifier(resource) ? await deps.resources.find(resource) : undefined;
      if (!api?.isRbac) return scopes;
      const granted = roleScopes(accountId ? await deps.repository.forToken(accountId, resource) : NO_PERMISSIONS);
      return scopes.filter((s) => granted.has(s));
    },
  };
}

export type RoleService = ReturnType<typeof createRoleService>;
