/** OpenID Connect scopes the server itself defines; every other scope belongs to an API. */
export const STANDARD_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;

export const isStandardScope = (s: string) => (STANDARD_SCOPES as readonly string[]).includes(s);
