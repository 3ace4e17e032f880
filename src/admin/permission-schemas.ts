import { z } from 'zod';

// Bodies and queries of the role and attribute operations (admin-routes.ts), snake_case as on the wire.
const email = z.string().min(1).max(320);
const claimNames = z.array(z.string().min(1).max(64)).max(20);

export const updateResourceBody = z.strictObject({
  /** User tokens carry only scopes the user's roles grant. */
  rbac: z.boolean().optional(),
  /** Replaces the claims the API's user tokens carry: `roles`, or names of user attributes. */
  token_claims: claimNames.optional(),
});

export const createRoleBody = z.strictObject({
  name: z.string().min(1).max(64),
  /** Space-separated scopes of the API; may be empty (a role only for the roles claim). */
  scope: z.string().max(2000).optional(),
});

export const deleteRoleQuery = z.strictObject({ revoke_tokens: z.enum(['true', 'false']).optional() });

export const grantRoleBody = z.strictObject({ email, resource: z.string().min(1).max(2000), role: z.string().min(1).max(64) });

export const revokeRoleBody = grantRoleBody.extend({
  /** Also revoke the user's live access tokens for the API (a subject_audience revocation event). */
  revoke_tokens: z.boolean().optional(),
});

export const setAttributesBody = z.strictObject({
  email,
  /** Replaces every attribute; `{}` removes them. At most 4 KiB of JSON, reserved claim names refused. */
  attributes: z.record(z.string(), z.unknown()),
});

export const permissionsQuery = z.strictObject({ email });
