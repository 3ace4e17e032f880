import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import * as oauth from 'openid-client';

export type DpopKey = { privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: Record<string, unknown> };

/** A fresh ES256 key pair for DPoP proofs (RFC 9449 §4.2). */
export async function dpopKey(): Promise<DpopKey> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  return { ...pair, publicJwk: { ...(await exportJWK(pair.publicKey)) } };
}

/**
 * A DPoP proof made by hand, for the attacks a real client never sends: any claim or header
 * may be overridden, and `ath` is computed from `accessToken` unless overridden.
 */
export async function dpopProof(
  key: DpopKey,
  request: { method: string; url: string; accessToken?: string },
  overrides: JWTPayload = {},
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const claims: JWTPayload = {
    jti: randomUUID(),
    htm: request.method,
    htu: request.url,
    iat: Math.floor(Date.now() / 1000),
    ...(request.accessToken ? { ath: createHash('sha256').update(request.accessToken).digest('base64url') } : {}),
    ...overrides,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...header }).sign(key.privateKey);
}

/** A DPoP-bound access token from the token endpoint, as openid-client gets one (client credentials). */
export async function dpopBoundToken(config: oauth.Configuration, key: DpopKey, parameters: Record<string, string>) {
  const handle = oauth.getDPoPHandle(config, { privateKey: key.privateKey, publicKey: key.publicKey });
  const tokens = await oauth.clientCredentialsGrant(config, parameters, { DPoP: handle });
  return { accessToken: tokens.access_token, tokenType: tokens.token_type, handle };
}
