import { hkdfSync } from 'node:crypto';

export type DerivedSecrets = Readonly<{
  /** Keygrip keys for oidc-provider's cookies (newest first). */
  cookieKeys: string[];
  /** AES-256-GCM key that wraps signing keys' private parts at rest. */
  keyEncryptionKey: Buffer;
  /** HMAC key for server-generated client secrets (a new pepper voids every stored secret). */
  clientSecretPepper: Buffer;
  /** Stable 32 bytes for DPoP nonces: identical on every instance and provider rebuild. */
  dpopNonceSecret: Buffer;
  /** AES-256-GCM key for upstreams' client secrets at rest and the short-lived upstream sign-in cookies. */
  upstreamSealingKey: Buffer;
  /** AES-256-GCM key for the account pages' sealed cookies (a sign-in waiting for a verified address). */
  accountSealingKey: Buffer;
  /** HMAC key for the CSRF tokens of the sign-in, sign-up and consent forms. */
  formTokenKey: Buffer;
}>;

// One master secret, independent subkeys per purpose (RFC 5869 HKDF with distinct `info`),
// so no key is ever used for two jobs.
function derive(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `gatehouse:${purpose}`, 32));
}

export function deriveSecrets(secret: string): DerivedSecrets {
  return Object.freeze({
    cookieKeys: [derive(secret, 'cookies').toString('base64url')],
    keyEncryptionKey: derive(secret, 'signing-key-encryption'),
    clientSecretPepper: derive(secret, 'client-secret-hmac'),
    dpopNonceSecret: derive(secret, 'dpop-nonce'),
    upstreamSealingKey: derive(secret, 'upstream-sealing'),
    accountSealingKey: derive(secret, 'account-sealing'),
    formTokenKey: derive(secret, 'interaction-form-tokens'),
  });
}
