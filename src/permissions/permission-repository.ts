import type { Knex } from 'knex';
import type { UserPermissions } from './token-claims.ts';

/** A role of one API: a name for a set of its scopes (migration 20261204010201). */
export type Role = { resource: string; name: string; scopes: string[] };

type RoleRow = { resource: string; name: string; scope: string };

const words = (s: string) => s.split(' ').filter(Boolean);
const fromRow = (r: RoleRow): Role => ({ resource: r.resource, name: r.name, scopes: words(r.scope) });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FOREIGN_KEY_VIOLATION = '23503';

/** Roles, the users they are given to, and users' attributes. */
export function createPermissionRepository(knex: Knex) {
  return {
    /** False when the API already has a role of that name. */
    async insertRole(role: Role): Promise<boolean> {
      const rows = await knex('resource_roles')
        .insert({ resource: role.resource, name: role.name, scope: role.scopes.join(' ') })
        .onConflict(['resource', 'name'])
        .ignore()
        .returning('name');
      return rows.length > 0;
    },
    async listRoles(resource: string): Promise<Role[]> {
      return (await knex<RoleRow>('resource_roles').where({ resource }).orderBy('name')).map(fromRow);
    },
    async findRole(resource: string, name: string): Promise<Role | undefined> {
      const row = await knex<RoleRow>('resource_roles').where({ resource, name }).first();
      return row && fromRow(row);
    },
    /** The users who had it, so their tokens can be revoked; the assignments go with it (cascade). */
    async deleteRole(resource: string, name: string): Promise<{ isDeleted: boolean; accountIds: string[] }> {
      return knex.transaction(async (trx) => {
        const holders = (await trx('account_roles').where({ resource, role: name }).select('account_id')) as { account_id: string }[];
        const deleted = await trx('resource_roles').where({ resource, name }).delete();
        return { isDeleted: deleted > 0, accountIds: holders.map((h) => h.account_id) };
      });
    },
    /** False when the user already has it; undefined when the user or the role is gone. */
    async grant(accountId: string, resource: string, role: string): Promise<boolean | undefined> {
      try {
        const rows = await knex('account_roles')
          .insert({ account_id: accountId, resource, role })
          .onConflict(['account_id', 'resource', 'role'])
          .ignore()
          .returning('role');
        return rows.length > 0;
      } catch (err) {
        if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) return undefined;
        throw err;
      }
    },
    /** False when the user did not have it. */
    async revoke(accountId: string, resource: string, role: string): Promise<boolean> {
      return (await knex('account_roles').where({ account_id: accountId, resource, role }).delete()) > 0;
    },
    /** Every role of the user, at every API. */
    async rolesOf(accountId: string): Promise<{ resource: string; role: string }[]> {
      if (!UUID.test(accountId)) return [];
      return knex('account_roles').where({ account_id: accountId }).orderBy(['resource', 'role']).select('resource', 'role');
    },
    async attributesOf(accountId: string): Promise<Record<string, unknown>> {
      if (!UUID.test(accountId)) return {};
      const row = await knex('account_attributes').where({ account_id: accountId }).first('attributes');
      return (row?.attributes as Record<string, unknown> | undefined) ?? {};
    },
    /** Replaces the user's attributes ({} removes them). False when the user is gone. */
    async setAttributes(accountId: string, attributes: Record<string, unknown>): Promise<boolean> {
      if (Object.keys(attributes).length === 0) {
        await knex('account_attributes').where({ account_id: accountId }).delete();
        return true;
      }
      try {
        await knex('account_attributes')
          .insert({ account_id: accountId, attributes: JSON.stringify(attributes) })
          .onConflict('account_id')
          .merge({ attributes: JSON.stringify(attributes), updated_at: knex.fn.now() });
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) return false;
        throw err;
      }
    },
    /**
     * The token endpoint's read (hot: once per token request for an --rbac API, or one with
     * token claims): the user's roles at this API with their scopes, and their attributes, in
     * one round trip by primary keys.
     */
    async forToken(accountId: string, resource: string): Promise<UserPermissions> {
      if (!UUID.test(accountId)) return { roles: [], attributes: {} };
      const result = await knex.raw(
        `select
           (select attributes from account_attributes where account_id = :account) as attributes,
           coalesce((select json_agg(json_build_object('name', r.name, 'scope', r.scope) order by r.name)
              from account_roles ar join resource_roles r on r.resource = ar.resource and r.name = ar.role
              where ar.account_id = :account and ar.resource = :resource), '[]'::json) as roles`,
        { account: accountId, resource },
      );
      const row = (result.rows as { attributes: Record<string, unknown> | null; roles: RoleRow[] }[])[0]!;
      return { roles: row.roles.map((r) => ({ name: r.name, scopes: words(r.scope) })), attributes: row.attributes ?? {} };
    },
  };
}

export type PermissionRepository = ReturnType<typeof createPermissionRepository>;
