// Authenticated encryption of small JSON values at rest (signing keys, cached token responses).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Private JWKs at rest: AES-256-GCM, a fresh 96-bit nonce per key, the kid as associated data
// (a ciphertext moved to another row fails to open). Format: v1.<nonce>.<ciphertext>.<tag>.
export function sealJson(value: unknown, key: Buffer, associatedData: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(associatedData));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return ['v1', nonce, body, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export function openJson<T>(sealed: string, key: Buffer, associatedData: string): T {
  const [version, nonce, body, tag] = sealed.split('.');
  if (version !== 'v1' || !nonce || !body || !tag) throw new Error('unrecognised sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as T;
}
