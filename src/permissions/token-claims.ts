import { AppError } from '../errors/app-error.ts';

/** The claim with the names of the user's roles for the token's API, when the API asks for it. */
export const ROLES_CLAIM = 'roles';

/**
 * Claims no operator data may ever set: what the token's own checks rest on. RFC 7519 §4.1
 * (iss sub aud exp nbf iat jti), RFC 9068 §2.2 (client_id scope auth_time acr amr), RFC 7800 /
 * RFC 9449 (cnf: a key binding a resource server enforces), RFC 8693 §4 (act may_act), RFC 9396
 * (authorization_details), OpenID Connect's token bindings (azp nonce sid at_hash c_hash s_hash),
 * the identity claims Gatehouse itself vouches for (email, email_verified), and our own `gid`
 * (revocation matches it) and `roles` (computed from role grants, never copied from attributes).
 * oidc-provider lets extraTokenClaims set some of these (cnf on an unbound token, nbf, act …):
 * it only overrides the ones it writes itself.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'scp',
  'auth_time',
  'acr',
  'amr',
  'cnf',
  'act',
  'may_act',
  'authorization_details',
  'azp',
  'nonce',
  'sid',
  'at_hash',
  'c_hash',
  's_hash',
  'typ',
  'cty',
  'email',
  'email_verified',
  'phone_number',
  'phone_number_verified',
  'gid',
  ROLES_CLAIM,
]);

// A plain name: a letter, then letters, digits, '_' or '-'. Nothing that could be read as a
// prototype key (`__proto__`) or need escaping anywhere a claim name goes.
const CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** A user's attributes, serialized: small, as they travel in every token of the APIs that ask. */
export const MAX_ATTRIBUTES_BYTES = 4096;
export const MAX_TOKEN_CLAIMS = 20;

/** An API's declared token claim: `roles`, or the name of a user attribute that is not reserved. */
export function checkTokenClaimNames(names: readonly string[]): string[] {
  const unique = [...new Set(names.map((n) => n.trim()).filter(Boolean))];
  if (unique.length > MAX_TOKEN_CLAIMS) throw new AppError('invalid_resource', `at most ${MAX_TOKEN_CLAIMS} token claims`);
  for (const name of unique) {
    if (!CLAIM_NAME.test(name)) throw new AppError('invalid_resource', `invalid token claim name: ${name.slice(0, 80)}`);
    if (name !== ROLES_CLAIM && RESERVED_CLAIMS.has(name)) throw new AppError('invalid_resource', `token claim ${name} is reserved`);
  }
  return unique;
}

/** A user's attributes: a JSON object with plain, unreserved keys, at most 4 KiB serialized. */
export function checkAttributes(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('invalid_attributes', 'attributes must be a JSON object');
  }
  for (const key of Object.keys(value)) {
    if (!CLAIM_NAME.test(key)) throw new AppError('invalid_attributes', `invalid attribute name: ${key.slice(0, 80)}`);
    if (RESERVED_CLAIMS.has(key)) throw new AppError('invalid_attributes', `attribute ${key} is a reserved claim`);
  }
  // Postgres jsonb cannot hold U+0000 or a lone surrogate in a string or key (22P05, 22P02):
  // refused here, not as a 500 there.
  const isStorable = (s: string) => !s.includes('\u0000') && !/\p{Cs}/u.test(s); // Cs in u mode: a lone surrogate
  let isBad = false;
  const serialized = JSON.stringify(value, (key: string, v: unknown) => {
    if (!isStorable(key) || (typeof v === 'string' && !isStorable(v))) isBad = true;
    return v;
  });
  if (isBad) throw new AppError('invalid_attributes', 'attributes must not contain NUL characters or lone surrogates');
  if (Buffer.byteLength(serialized) > MAX_ATTRIBUTES_BYTES) {
    throw new AppError('invalid_attributes', `attributes must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`);
  }
  return JSON.parse(serialized) as Record<string, unknown>; // a plain copy: no undefined, no prototypes
}

/** What a user holds at one API: role names with their scopes, and the user's attributes. */
export type UserPermissions = { roles: { name: string; scopes: string[] }[]; attributes: Record<string, unknown> };

export const NO_PERMISSIONS: UserPermissions = Object.freeze({ roles: [], attributes: {} }) as UserPermissions;

/** The scopes the user's roles grant (their union). */
export const roleScopes = (p: UserPermissions): Set<string> => new Set(p.roles.flatMap((r) => r.scopes));

/**
 * The extra claims of a user's token for an API: those it declared, from the user's roles and
 * attributes. A reserved name is skipped even if it got into storage some other way.
 */
export function userTokenClaims(declared: readonly string[], p: UserPermissions): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const name of declared) {
    if (name === ROLES_CLAIM) claims[name] = p.roles.map((r) => r.name);
    else if (!RESERVED_CLAIMS.has(name) && CLAIM_NAME.test(name) && Object.hasOwn(p.attributes, name)) claims[name] = p.attributes[name];
  }
  return claims;
}
