import { ExternalSigningKey } from 'oidc-provider';
import type { Signer } from '../signing-keys/signer.ts';

/**
 * oidc-provider's seam for keys it does not hold (`features.externalSigningSupport`, 9.13,
 * experimental-01): the library builds the JWS signing input and awaits `sign(data)` for the
 * signature (helpers/jwt.js), and takes the public key from `keyObject()` for the JWKS and for
 * verifying its own tokens. Every key we publish goes in this way, local or KMS-held alike.
 */
class EngineSigningKey extends ExternalSigningKey {
  readonly #signer: Signer;
  readonly #canSign: boolean;

  constructor(signer: Signer, canSign: boolean) {
    super();
    this.#signer = signer;
    this.#canSign = canSign;
  }

  override get kid(): string {
    return this.#signer.kid;
  }

  override get alg(): string {
    return this.#signer.alg;
  }

  // The base class answers undefined; `next` and `retired` keys must never be picked to sign,
  // and the key selection skips a key whose key_ops lack 'sign' (notes §11).
  override get key_ops(): string[] | undefined {
    return this.#canSign ? undefined : ['verify'];
  }

  override keyObject() {
    return this.#signer.publicKey;
  }

  override sign(data: Buffer): Promise<Buffer> {
    return this.#signer.sign(data);
  }
}

export type PublishedSigner = { signer: Signer; canSign: boolean };

/** The engine's keystore entries, in the order given (the signing key of each algorithm first). */
export const engineSigningKeys = (keys: PublishedSigner[]): ExternalSigningKey[] => keys.map((k) => new EngineSigningKey(k.signer, k.canSign));
