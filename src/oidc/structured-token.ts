import { decodeProtectedHeader } from 'jose';

/**
 * Whether oidc-provider takes a token for a JWT, and so refuses it at introspection and
 * revocation with 400 unsupported_token_type (shared/reject_structured_tokens.js: any value
 * whose first part decodes as a JOSE header). Our wrappers answer for every such token, so a
 * malformed one (an empty signature, a missing part) gets RFC 7662 §2.2's `{"active":false}`.
 */
export function isStructuredToken(token: string): boolean {
  try {
    return Boolean(decodeProtectedHeader(token));
  } catch {
    return false;
  }
}
