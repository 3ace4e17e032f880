import type { z } from 'zod';
import type { UserAdmin, UserRef } from '../accounts/user-admin.ts';
import type { AdminRoute } from './admin-route.ts';
import { sendResetBody, updateUserBody, userImportBody } from './admin-schemas.ts';

const ref = (params: Record<string, string>): UserRef => ({ id: params.id! });

/**
 * The users lifecycle in the admin API (`/users/{id}/…`), over the same service as `gatehouse
 * users …`. Listing and finding by email stay on GET /users (admin-routes.ts).
 */
export function adminUserRoutes(users: UserAdmin): AdminRoute[] {
  return [
    {
      method: 'get',
      path: '/users/:id',
      summary: 'Show a user (never a password hash) and their upstream identities',
      handle: ({ params }) => users.show(ref(params)),
    },
    {
      method: 'patch',
      path: '/users/:id',
      action: 'user.update',
      body: updateUserBody,
      summary: "Change a user's name, email or email_verified (a verified address is taken from accounts that had it unverified)",
      handle: ({ params, body, actor }) => {
        const b = body as z.infer<typeof updateUserBody>;
        return users.update(ref(params), { name: b.name, email: b.email, emailVerified: b.email_verified }, actor);
      },
    },
    {
      method: 'post',
      path: '/users/:id/disable',
      action: 'user.disable',
      summary: 'Disable a user: no sign-in, sessions ended, grants and refresh tokens deleted, access tokens revoked',
      handle: ({ params, actor }) => users.disable(ref(params), actor),
    },
    {
      method: 'post',
      path: '/users/:id/enable',
      action: 'user.enable',
      summary: 'Enable a disabled user',
      handle: ({ params, actor }) => users.enable(ref(params), actor),
    },
    {
      method: 'delete',
      path: '/users/:id',
      action: 'user.delete',
      status: 204,
      summary: 'Delete a user and everything of theirs (sessions, grants, tokens, identities, consents); the audit trail keeps their id only',
      handle: ({ params, actor }) => users.delete(ref(params), actor),
    },
    {
      method: 'post',
      path: '/users/:id/send-reset',
      action: 'user.send_reset',
      body: sendResetBody,
      summary: 'Mail the user a password-reset link (single use, 30 minutes; a first password for an account without one)',
      handle: ({ params, body, actor }) => users.sendReset(ref(params), (body as z.infer<typeof sendResetBody>).locale ?? 'en', actor),
    },
    {
      method: 'get',
      path: '/users/:id/export',
      summary: 'Everything held about a user (no hashes, tokens or secrets)',
      handle: ({ params }) => users.export(ref(params)),
    },
    {
      method: 'post',
      path: '/users/import',
      action: 'user.import',
      status: 201,
      body: userImportBody,
      summary: 'Import users, all or nothing: `jsonl` holds one JSON object a line (email, name, email_verified, password_hash)',
      handle: ({ body, actor }) => users.import((body as z.infer<typeof userImportBody>).jsonl, actor),
    },
  ];
}
