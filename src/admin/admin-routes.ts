import type { z } from 'zod';
import type { AccountService } from '../accounts/account-service.ts';
import type { UserAdmin } from '../accounts/user-admin.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientService } from '../clients/client-service.ts';
import { AppError } from '../errors/app-error.ts';
import type { RoleService } from '../permissions/role-service.ts';
import type { ResourceService } from '../resources/resource-service.ts';
import type { SigningKeyStore } from '../signing-keys/signing-key-store.ts';
import type { AdminRoute } from './admin-route.ts';
import { auditQuery, createClientBody, createResourceBody, createUserBody, emailBody, emailQuery } from './admin-schemas.ts';
import { adminUserRoutes } from './admin-user-routes.ts';
import { permissionRoutes } from './permission-routes.ts';

export type AdminServices = {
  clients: ClientService;
  resources: ResourceService;
  accounts: AccountService;
  /** The users lifecycle (list, update, disable, delete, import, export …). */
  users: UserAdmin;
  roles: RoleService;
  signOutEverywhere: (email: string) => Promise<{ accountId: string; deleted: number; tokensIssuedBefore: number }>;
  signingKeys: SigningKeyStore;
  audit: AuditLog;
};

const id = (params: Record<string, string>, name: string) => params[name]!;

/** Every admin operation: the same services the CLI calls. */
export function adminRoutes(s: AdminServices): AdminRoute[] {
  return [
    { method: 'get', path: '/clients', summary: 'List clients (never their secrets)', handle: () => s.clients.listClients() },
    {
      method: 'post',
      path: '/clients',
      action: 'client.create',
      status: 201,
      body: createClientBody,
      summary: "Register a client; a confidential client's secret is in this response only",
      handle: async ({ body, actor }) => {
        const b = body as z.infer<typeof createClientBody>;
        const { client, clientSecret } = await s.clients.registerClient(
          {
            name: b.name,
            redirectUris: b.redirect_uris,
            grantTypes: b.grant_types,
            scope: b.scope,
            resources: b.resources,
            postLogoutRedirectUris: b.post_logout_redirect_uris,
            applicationType: b.application_type,
            jwksUri: b.jwks_uri,
            jwks: b.jwks,
            tokenEndpointAuthMethod: b.token_endpoint_auth_method,
            canIntrospect: b.introspect,
            isFirstParty: b.first_party,
            refreshTokenGraceSeconds: b.refresh_token_grace_seconds,
            refreshTokenIdleSeconds: b.refresh_token_idle_seconds,
            refreshTokenAbsoluteSeconds: b.refresh_token_absolute_seconds,
            tokenRateLimitPerSecond: b.token_rate_limit_per_second,
          },
          actor,
        );
        return { ...client, ...(clientSecret ? { client_secret: clientSecret } : {}) };
      },
    },
    { method: 'get', path: '/clients/:id', summary: 'Show a client', handle: ({ params }) => s.clients.showClient(id(params, 'id')) },
    {
      method: 'delete',
      path: '/clients/:id',
      action: 'client.delete',
      status: 204,
      summary: 'Delete a client',
      handle: ({ params, actor }) => s.clients.deleteClient(id(params, 'id'), actor),
    },
    {
      method: 'post',
      path: '/clients/:id/rotate-secret',
      action: 'client.rotate_secret',
      summary: "Replace a client's secret (shown once)",
      handle: async ({ params, actor }) => {
        const { client, clientSecret } = await s.clients.rotateClientSecret(id(params, 'id'), actor);
        return { ...client, client_secret: clientSecret };
      },
    },
    { method: 'get', path: '/resources', summary: 'List APIs (resource servers)', handle: () => s.resources.listResources() },
    {
      method: 'post',
      path: '/resources',
      action: 'resource.create',
      status: 201,
      body: createResourceBody,
      summary: 'Register an API',
      handle: ({ body, actor }) => {
        const b = body as z.infer<typeof createResourceBody>;
        return s.resources.createResource(
          { identifier: b.identifier, scope: b.scope, accessTokenTtlSeconds: b.access_token_ttl, isRbac: b.rbac, tokenClaims: b.token_claims },
          actor,
        );
      },
    },
    ...permissionRoutes(s),
    {
      method: 'post',
      path: '/users',
      action: 'user.create',
      status: 201,
      body: createUserBody,
      summary: 'Create a user with a password',
      handle: ({ body, actor }) => s.accounts.registerAccount(body as z.infer<typeof createUserBody>, actor),
    },
    {
      method: 'get',
      path: '/users',
      query: emailQuery,
      summary: 'Find the user holding an address (?email=), or list users (?search=&limit=&cursor=)',
      handle: async ({ query }) => {
        const q = query as z.infer<typeof emailQuery>;
        if (q.email === undefined) return s.users.list({ search: q.search, limit: q.limit, cursor: q.cursor });
        const account = await s.accounts.findByEmail(q.email);
        if (!account) throw new AppError('not_found', 'no user with that email', 404);
        return account;
      },
    },
    ...adminUserRoutes(s.users),
    {
      method: 'post',
      path: '/users/revoke-sessions',
      action: 'user.revoke_sessions',
      body: emailBody,
      summary: 'Sign a user out everywhere: sessions, grants and refresh tokens deleted, access tokens revoked',
      handle: ({ body }) => s.signOutEverywhere((body as z.infer<typeof emailBody>).email),
    },
    { method: 'get', path: '/keys', summary: 'List signing keys', handle: () => s.signingKeys.listKeys() },
    {
      method: 'post',
      path: '/keys/rotate',
      action: 'key.rotate',
      summary: 'Announce a new signing key now; it signs once every cache has it',
      handle: () => s.signingKeys.rotate(), // the store tells every instance to reload its keys
    },
    {
      method: 'post',
      path: '/keys/:kid/revoke',
      action: 'key.revoke',
      summary: 'Unpublish a (compromised) key at once',
      handle: ({ params }) => s.signingKeys.revoke(id(params, 'kid')),
    },
    {
      method: 'get',
      path: '/audit',
      query: auditQuery,
      summary: 'Audit events, newest first',
      handle: ({ query }) => {
        const q = query as z.infer<typeof auditQuery>;
        return s.audit.list({ type: q.type, clientId: q.client, accountId: q.account, since: q.since ? new Date(q.since) : undefined, limit: q.limit ?? 100 });
      },
    },
  ];
}
