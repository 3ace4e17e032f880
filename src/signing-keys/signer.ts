import type { KeyObject } from 'node:crypto';

/** The JWS algorithms an API may choose for its access tokens (RFC 7518 §3.1, RFC 8037 §3.1). RS256 is the default. */
export const SIGNING_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'RS256';
export const isSigningAlg = (value: unknown): value is SigningAlg => SIGNING_ALGS.includes(value as SigningAlg);

/**
 * Whatever holds a private key and can sign with it: a key of ours in memory (local-signer.ts),
 * or one that never leaves a KMS or an HSM (none ships yet: README, "Where private keys live").
 * The protocol engine only ever sees this shape (src/oidc/engine-signing-keys.ts), so another
 * custody plugs in here alone.
 */
export type Signer = {
  kid: string;
  alg: SigningAlg;
  /** The public half, for the JWKS and for checking what we signed. */
  publicKey: KeyObject;
  /**
   * The JWS Signature of `data` (the ASCII of `header.payload`), as RFC 7515 §5.1 puts it into
   * the token: RSASSA-PKCS1-v1_5 bytes, ECDSA as R || S (RFC 7518 §3.4, not DER), Ed25519 bytes.
   */
  sign(data: Buffer): Promise<Buffer>;
};
