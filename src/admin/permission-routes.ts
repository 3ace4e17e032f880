import type { z } from 'zod';
import type { RoleService } from '../permissions/role-service.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import type { AdminRoute } from './admin-route.ts';
import {
  createRoleBody,
  deleteRoleQuery,
  grantRoleBody,
  permissionsQuery,
  revokeRoleBody,
  setAttributesBody,
  updateResourceBody,
} from './permission-schemas.ts';

/**
 * Permissions in the token, over the admin API: an API's role checking and token claims, its
 * roles, users' roles and attributes. An API's identifier is a path segment, percent-encoded
 * (`/resources/https%3A%2F%2Fapi.example.com/roles`).
 */
export function permissionRoutes(s: { resources: ResourceService; roles: RoleService }): AdminRoute[] {
  const api = (params: Record<string, string>) => params.identifier!;
  return [
    {
      method: 'patch',
      path: '/resources/:identifier',
      action: 'resource.update',
      body: updateResourceBody,
      summary: 'Turn role checking on or off (rbac), replace the claims its user tokens carry (token_claims)',
      handle: ({ params, body, actor }) => {
        const b = body as z.infer<typeof updateResourceBody>;
        return s.resources.updateResource(api(params), { isRbac: b.rbac, tokenClaims: b.token_claims }, actor);
      },
    },
    { method: 'get', path: '/resources/:identifier/roles', summary: "List an API's roles", handle: ({ params }) => s.roles.listRoles(api(params)) },
    {
      method: 'post',
      path: '/resources/:identifier/roles',
      action: 'role.create',
      status: 201,
      body: createRoleBody,
      summary: 'Define a role of an API: a name for a set of its scopes',
      handle: ({ params, body, actor }) => {
        const b = body as z.infer<typeof createRoleBody>;
        return s.roles.createRole({ resource: api(params), name: b.name, scope: b.scope }, actor);
      },
    },
    {
      method: 'delete',
      path: '/resources/:identifier/roles/:name',
      action: 'role.delete',
      query: deleteRoleQuery,
      summary: 'Delete a role; its users lose it (revoke_tokens=true: their live tokens for the API are revoked)',
      handle: ({ params, query, actor }) =>
        s.roles.deleteRole(
          { resource: api(params), name: params.name!, revokeTokens: (query as z.infer<typeof deleteRoleQuery>).revoke_tokens === 'true' },
          actor,
        ),
    },
    {
      method: 'post',
      path: '/users/grant-role',
      action: 'user.grant_role',
      body: grantRoleBody,
      summary: 'Give a user a role of an API (effective at their next token)',
      handle: ({ body, actor }) => s.roles.grantRole(body as z.infer<typeof grantRoleBody>, actor),
    },
    {
      method: 'post',
      path: '/users/revoke-role',
      action: 'user.revoke_role',
      body: revokeRoleBody,
      summary: 'Take a role away (effective at their next token or refresh; revoke_tokens: at once)',
      handle: ({ body, actor }) => {
        const b = body as z.infer<typeof revokeRoleBody>;
        return s.roles.revokeRole({ email: b.email, resource: b.resource, role: b.role, revokeTokens: b.revoke_tokens }, actor);
      },
    },
    {
      method: 'post',
      path: '/users/attributes',
      action: 'user.set_attributes',
      body: setAttributesBody,
      summary: "Replace a user's attributes (trusted claims an API may declare for its tokens)",
      handle: ({ body, actor }) => s.roles.setAttributes(body as z.infer<typeof setAttributesBody>, actor),
    },
    {
      method: 'get',
      path: '/users/permissions',
      query: permissionsQuery,
      summary: "A user's roles (every API) and attributes",
      handle: ({ query }) => s.roles.permissionsOf((query as z.infer<typeof permissionsQuery>).email),
    },
  ];
}
