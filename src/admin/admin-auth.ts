import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { RevocationList } from '../revocation/revocation-list.ts';

export const ADMIN_SCOPE = 'admin';

export type AdminCaller = { clientId: string };

/** Why a request is refused, as RFC 6750 §3.1 names it. */
export class AdminAuthError extends Error {
  readonly status: 401 | 403;
  readonly code: 'invalid_token' | 'insufficient_scope' | undefined;
  constructor(status: 401 | 403, code: AdminAuthError['code'], message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * The admin API accepts only Gatehouse's own access tokens (RS256 at+jwt from this issuer) for its
 * own audience, not revoked, with the `admin` scope. Another audience is an invalid token (it was
 * not meant for us); a right token without the scope is insufficient_scope (403).
 */
export function createAdminAuth(options: { issuer: string; audience: string; publicJwks: JSONWebKeySet; revocations: RevocationList; clockToleranceSeconds: number }) {
  const keys = createLocalJWKSet(options.publicJwks);
  return async (authorization: string): Promise<AdminCaller> => {
    const match = /^Bearer ([\w.~+/-]+=*)$/i.exec(authorization);
    if (!match) throw new AdminAuthError(401, undefined, 'a bearer access token is required');
    let payload;
    try {
      ({ payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds,
      }));
    } catch {
      throw new AdminAuthError(401, 'invalid_token', 'the access token is not valid for this API');
    }
    const facts = { jti: payload.jti, gid: payload.gid as string | undefined, sub: payload.sub, iat: payload.iat };
    if (await options.revocations.isRevoked(facts)) throw new AdminAuthError(401, 'invalid_token', 'the access token was revoked');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(ADMIN_SCOPE)) throw new AdminAuthError(403, 'insufficient_scope', `the ${ADMIN_SCOPE} scope is required`);
    return { clientId: String(payload.client_id ?? payload.sub) };
  };
}
