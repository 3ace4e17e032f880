import { z } from 'zod';
import { APPLICATION_TYPES, AUTH_METHODS, GRANT_TYPES } from '../clients/client-service.ts';

// Request bodies and queries of the admin API, in snake_case like the rest of the wire.
const seconds = z.number().int().nonnegative();

export const createClientBody = z.strictObject({
  name: z.string().min(1).max(200),
  redirect_uris: z.array(z.string().max(2000)).max(50).optional(),
  post_logout_redirect_uris: z.array(z.string().max(2000)).max(50).optional(),
  application_type: z.enum(APPLICATION_TYPES).optional(),
  // private_key_jwt: the client's public keys, at a URL or inline; checked by the client service.
  jwks_uri: z.string().max(2000).optional(),
  jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(20) }).optional(),
  grant_types: z.array(z.enum(GRANT_TYPES)).max(3).optional(),
  scope: z.string().max(2000).optional(),
  resources: z.array(z.string().max(2000)).max(50).optional(),
  token_endpoint_auth_method: z.enum(AUTH_METHODS).optional(),
  introspect: z.boolean().optional(),
  first_party: z.boolean().optional(),
  refresh_token_grace_seconds: seconds.optional(),
  refresh_token_idle_seconds: seconds.optional(),
  refresh_token_absolute_seconds: seconds.optional(),
  token_rate_limit_per_second: z.number().nonnegative().optional(),
});

export const createResourceBody = z.strictObject({
  identifier: z.string().min(1).max(2000),
  scope: z.string().min(1).max(2000),
  access_token_ttl: z.number().int().optional(),
  rbac: z.boolean().optional(),
  token_claims: z.array(z.string().min(1).max(64)).max(20).optional(),
});

export const createUserBody = z.strictObject({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
  name: z.string().max(200).optional(),
});

export const emailBody = z.strictObject({ email: z.string().min(1).max(320) });

/** GET /users: `email` finds the one user holding that address (404 if none); without it, a page of users. */
export const emailQuery = z.strictObject({
  email: z.string().min(1).max(320).optional(),
  search: z.string().max(254).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.string().max(500).optional(),
});

export const updateUserBody = z.strictObject({
  name: z.string().max(200).nullable().optional(),
  email: z.string().min(1).max(320).optional(),
  email_verified: z.boolean().optional(),
});

export const sendResetBody = z.strictObject({ locale: z.enum(['en', 'ko']).optional() });

/** The same lines as `users import --file` (the admin API's body limit, 64 KiB, bounds one call). */
export const userImportBody = z.strictObject({ jsonl: z.string().min(1) });

export const auditQuery = z.strictObject({
  type: z.string().max(100).optional(),
  client: z.string().max(200).optional(),
  account: z.uuid().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
