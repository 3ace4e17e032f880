import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, type SignKeyObjectInput, sign } from 'node:crypto';
import type { JWK } from 'jose';
import type { Signer, SigningAlg } from './signer.ts';

/** node:crypto's digest and key options for each JWS algorithm. */
const RECIPES: Record<SigningAlg, { digest: string | null; dsaEncoding?: 'ieee-p1363' }> = {
  RS256: { digest: 'sha256' },
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363' }, // JWS wants R || S (RFC 7518 §3.4)
  EdDSA: { digest: null }, // Ed25519 hashes internally (RFC 8032)
};

/**
 * A key of ours, opened from its sealed JWK once and kept as a KeyObject: signing is then one
 * OpenSSL call, with nothing imported per token. The callback form of `crypto.sign` runs on
 * libuv's thread pool, so one process signs on every core while its event loop serves HTTP.
 */
export function createLocalSigner(key: { kid: string; alg: SigningAlg; privateJwk: JWK }): Signer {
  const privateKey = createPrivateKey({ key: key.privateJwk as unknown as JsonWebKey, format: 'jwk' });
  const recipe = RECIPES[key.alg];
  const input: SignKeyObjectInput | KeyObject = recipe.dsaEncoding ? { key: privateKey, dsaEncoding: recipe.dsaEncoding } : privateKey;
  return {
    kid: key.kid,
    alg: key.alg,
    publicKey: createPublicKey(privateKey),
    sign: (data) =>
      new Promise((resolve, reject) => {
        sign(recipe.digest, data, input, (err, signature) => (err ? reject(err) : resolve(signature)));
      }),
  };
}
