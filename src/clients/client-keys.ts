import { AppError } from '../errors/app-error.ts';
import { isSecureUrl } from '../validation/secure-url.ts';

export type ClientKeysInput = { jwksUri?: string; jwks?: unknown };
export type ClientKeys = { jwks_uri: string } | { jwks: { keys: Record<string, unknown>[] } };

// Asymmetric key types only: HS* is off (stored secrets are hashes, notes §7), so an `oct` key could
// never verify anything, and holding one would put a shared secret in the database.
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
const MAX_KEYS = 20;

/**
 * The public keys a private_key_jwt client signs its assertions with (RFC 7523 §2.2, OIDC Core §9):
 * inline `jwks`, or a `jwks_uri` the server fetches (and re-fetches when a new kid appears).
 * oidc-provider's Client.validate checks each key's members; this decides what may be registered.
 */
export function clientKeys(input: ClientKeysInput): ClientKeys | undefined {
  if (input.jwksUri !== undefined && input.jwks !== undefined) throw new AppError('invalid_client', 'give jwks or jwks_uri, not both');
  if (input.jwksUri !== undefined) {
    // The keys that authenticate the client travel from there: https, or http on a loopback host (tests).
    if (input.jwksUri.includes('#') || !isSecureUrl(input.jwksUri)) {
      throw new AppError('invalid_client', 'jwks_uri must be an https:// URL without a fragment (http:// only on a loopback host)');
    }
    return { jwks_uri: input.jwksUri };
  }
  if (input.jwks === undefined) return undefined;
  const keys = (input.jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS) {
    throw new AppError('invalid_client', `jwks must be a JWK Set: {"keys": [...]} with 1 to ${MAX_KEYS} public keys`);
  }
  for (const key of keys) {
    const kty = (key as { kty?: unknown } | null)?.kty;
    if (typeof kty !== 'string' || !KEY_TYPES.has(kty)) throw new AppError('invalid_client', 'jwks may hold only public RSA, EC or OKP keys');
    if ('d' in (key as object)) throw new AppError('invalid_client', 'jwks must hold public keys only (found a private key)');
  }
  return { jwks: { keys: keys as Record<string, unknown>[] } };
}
