import { DPOP_ALGORITHMS } from './dpop-proof.ts';
import type { AccessTokenClaims } from './types.ts';

export type VerificationErrorCode = 'invalid_token' | 'insufficient_scope' | 'invalid_request' | 'invalid_dpop_proof';

export type VerificationErrorInit = {
  status: 401 | 403;
  code: VerificationErrorCode;
  description: string;
  /** The protection space; the verifier uses the issuer. */
  realm?: string;
  /** For insufficient_scope: the scopes the resource needs. */
  scope?: string;
  /**
   * RFC 6750 §3.1: a request that carried no token at all gets a challenge without an error
   * attribute, so clients are not told of an error they did not make.
   */
  isTokenMissing?: boolean;
  /** RFC 9449 §7.1: the DPoP scheme, for a DPoP request or a DPoP-bound token. */
  isDpop?: boolean;
  /** RFC 9728 §5.1: where the resource's metadata is, so a client can find its authorization server. */
  resourceMetadata?: string;
};

/**
 * Why a request's access token was refused, with everything an API needs to answer it: the
 * status (401 or 403), the RFC 6750 §3.1 (or RFC 9449 §7.1) error code and the
 * `WWW-Authenticate` header value.
 */
export class VerificationError extends Error {
  readonly status: 401 | 403;
  readonly code: VerificationErrorCode;
  readonly description: string;
  /** The `WWW-Authenticate` response header value (RFC 6750 §3, or RFC 9449 §7.1 for DPoP). */
  readonly wwwAuthenticate: string;
  /** How it was made, to make it again with more (withResourceMetadata). */
  readonly init: VerificationErrorInit;

  constructor(init: VerificationErrorInit) {
    super(init.description);
    this.init = init;
    this.name = 'VerificationError';
    this.status = init.status;
    this.code = init.code;
    this.description = init.description;
    const params: string[] = [];
    if (init.realm !== undefined) params.push(`realm=${quote(init.realm)}`);
    if (!init.isTokenMissing) params.push(`error=${quote(init.code)}`, `error_description=${quote(init.description)}`);
    if (init.scope !== undefined) params.push(`scope=${quote(init.scope)}`);
    if (init.isDpop) params.push(`algs=${quote(DPOP_ALGORITHMS.join(' '))}`);
    if (init.resourceMetadata !== undefined) params.push(`resource_metadata=${quote(init.resourceMetadata)}`);
    const scheme = init.isDpop ? 'DPoP' : 'Bearer';
    this.wwwAuthenticate = params.length > 0 ? `${scheme} ${params.join(', ')}` : scheme;
  }
}

/** The same refusal, its challenge naming the resource's metadata (RFC 9728 §5.1). */
export function withResourceMetadata(err: VerificationError, url: string | undefined): VerificationError {
  if (url === undefined || err.init.resourceMetadata !== undefined) return err;
  return new VerificationError({ ...err.init, resourceMetadata: url });
}

/** RFC 6750 §3 allows only %x20-21 / %x23-5B / %x5D-7E inside these quoted values. */
const quote = (value: string) => `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;

export const missingToken = (realm: string) =>
  new VerificationError({ status: 401, code: 'invalid_request', description: 'no access token in the request', realm, isTokenMissing: true });

/** The refusal for a failed access-token check (access-token-check.ts). */
export const refusal = (realm: string, failure: { error: string; description: string; isDpop: boolean }) =>
  new VerificationError({
    status: 401,
    code: failure.error === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token',
    description: failure.description,
    realm,
    isDpop: failure.isDpop,
  });

/**
 * Throws a 403 insufficient_scope unless the token carries every scope given
 * (`'read write'` and `['read', 'write']` both mean read AND write).
 */
export function requireScope(claims: AccessTokenClaims, scope: string | string[]): void {
  const required = (Array.isArray(scope) ? scope : scope.split(' ')).filter(Boolean);
  if (required.every((s) => claims.scope.includes(s))) return;
  throw new VerificationError({
    status: 403,
    code: 'insufficient_scope',
    description: `the token lacks a required scope`,
    realm: claims.iss,
    scope: required.join(' '),
    isDpop: claims.cnf !== undefined,
  });
}

/**
 * Throws a 403 insufficient_scope unless the token's `roles` claim holds every role given
 * (`'editor auditor'` and `['editor', 'auditor']` both mean editor AND auditor). RFC 6750 §3.1
 * has no error code of its own for roles: a role is a named set of scopes, and lacking it is
 * lacking what the resource needs.
 */
export function requireRole(claims: AccessTokenClaims, role: string | string[]): void {
  const required = (Array.isArray(role) ? role : role.split(' ')).filter(Boolean);
  if (required.every((r) => claims.roles.includes(r))) return;
  throw new VerificationError({
    status: 403,
    code: 'insufficient_scope',
    description: 'the token lacks a required role',
    realm: claims.iss,
    isDpop: claims.cnf !== undefined,
  });
}
