import type { AccessTokenCheck } from '../verifier/access-token-check.ts';
import { parseAuthorization } from '../verifier/middleware.ts';

export const ADMIN_SCOPE = 'admin';

export type AdminCaller = { clientId: string };

/** Why a request is refused, as RFC 6750 §3.1 (and RFC 9449 §7.1 for DPoP) name it. */
export class AdminAuthError extends Error {
  readonly status: 401 | 403;
  readonly code: 'invalid_token' | 'invalid_dpop_proof' | 'insufficient_scope' | undefined;
  /** The challenge uses the DPoP scheme (a DPoP request, or a DPoP-bound token). */
  readonly isDpop: boolean;
  constructor(status: 401 | 403, code: AdminAuthError['code'], message: string, isDpop = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.isDpop = isDpop;
  }
}

/** What of the request the check needs: its credentials, and for a DPoP proof its method and URL. */
export type AdminRequest = { authorization: string; dpop: string | undefined; method: string; url: string };

/**
 * The admin API accepts only Gatehouse's own access tokens, through the one access-token check
 * (RS256 at+jwt from this issuer, for the admin audience, not revoked; a DPoP-bound token only
 * under the DPoP scheme with a valid, unused proof), with the `admin` scope. Another audience is
 * an invalid token (it was not meant for us); a right token without the scope is
 * insufficient_scope (403).
 */
export function createAdminAuth(options: { audience: string; check: AccessTokenCheck }) {
  return async (request: AdminRequest): Promise<AdminCaller> => {
    const credentials = parseAuthorization(request.authorization);
    if (!credentials?.token) throw new AdminAuthError(401, undefined, 'an access token is required');
    const presentation =
      credentials.scheme === 'DPoP'
        ? { scheme: 'DPoP' as const, proof: request.dpop, method: request.method, url: request.url }
        : { scheme: 'Bearer' as const };
    const result = await options.check(credentials.token, { audience: [options.audience], presentation });
    if (!result.isValid) {
      const code = result.error === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token';
      throw new AdminAuthError(401, code, result.description, result.isDpop);
    }
    const { payload } = result;
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(ADMIN_SCOPE)) throw new AdminAuthError(403, 'insufficient_scope', `the ${ADMIN_SCOPE} scope is required`, payload.cnf !== undefined);
    return { clientId: payload.client_id };
  };
}
