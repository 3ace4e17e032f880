import { randomUUID } from 'node:crypto';
import { exportSPKI, generateKeyPair, importJWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import type { TestGatehouse } from './test-gatehouse.ts';

/**
 * Access tokens made in tests, for the cases a real client cannot produce: signed with the
 * server's own active key (so only the claim or header under test is wrong), or forged.
 */
export function accessTokens(gh: TestGatehouse, defaults: { audience: string; clientId: string }) {
  const claims = (overrides: JWTPayload): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: gh.issuer,
      aud: defaults.audience,
      sub: defaults.clientId,
      client_id: defaults.clientId,
      scope: 'read',
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      ...overrides,
    };
  };
  const activeKey = async () => {
    const [active] = await gh.services.signingKeys.loadProviderKeys(); // the signing key comes first
    return { key: await importJWK(active!, 'RS256'), kid: active!.kid!, publicJwk: { kty: active!.kty, n: active!.n, e: active!.e } };
  };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  return {
    /** Signed by Gatehouse's active key; claims and header may be overridden. */
    async signed(overrides: JWTPayload = {}, header: Partial<JWTHeaderParameters> = {}) {
      const { key, kid } = await activeKey();
      return new SignJWT(claims(overrides)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid, ...header }).sign(key);
    },
    /** alg none: no signature at all. */
    async unsigned() {
      const { kid } = await activeKey();
      return `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims({}))}.`;
    },
    /** The classic key-confusion forgery: HS256 keyed with the server's public key. */
    async hmacWithPublicKey() {
      const { kid, publicJwk } = await activeKey();
      const pem = await exportSPKI((await importJWK({ ...publicJwk, alg: 'RS256' }, 'RS256', { extractable: true })) as CryptoKey);
      return new SignJWT(claims({})).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(new TextEncoder().encode(pem));
    },
    /** Signed by a key of our own under a kid Gatehouse never published. */
    async foreignKid(kid = randomUUID()) {
      const { privateKey } = await foreignKey;
      return new SignJWT(claims({})).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid }).sign(privateKey);
    },
  };
}

const foreignKey = generateKeyPair('RS256');

/** The token with one character of its signature changed. */
export function tamperSignature(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
}

/** A fetch that counts the requests to each path and can be told to fail. */
export function countingFetch() {
  const counts = new Map<string, number>();
  const wrapped: typeof fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetch: wrapped, count: (path: string) => counts.get(path) ?? 0 };
}
