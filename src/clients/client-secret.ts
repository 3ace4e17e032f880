import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'hmac-sha256:';

// createHmac with a Buffer key first tries the key as a KeyObject and catches the thrown brand
// check: ~20 µs per call against ~4 µs with a KeyObject, on every token request. Import once.
const pepperKeys = new WeakMap<Buffer, KeyObject>();
function pepperKey(pepper: Buffer): KeyObject {
  let key = pepperKeys.get(pepper);
  if (!key) pepperKeys.set(pepper, (key = createSecretKey(pepper)));
  return key;
}

/** 256 random bits: too much entropy to brute-force from a hash, so a keyed SHA-256 suffices (notes §7). */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashClientSecret(secret: string, pepper: Buffer): string {
  return PREFIX + createHmac('sha256', pepperKey(pepper)).update(secret).digest('hex');
}

/** A stored value (never a plaintext secret): what saving a client must not hash again. */
export const isHashedClientSecret = (value: string) => value.startsWith(PREFIX);

/** Constant-time comparison of a presented secret with its stored keyed hash. */
export function verifyClientSecret(presented: string, stored: string | undefined, pepper: Buffer): boolean {
  if (!stored?.startsWith(PREFIX)) return false;
  const expected = Buffer.from(stored.slice(PREFIX.length), 'hex');
  const actual = createHmac('sha256', pepperKey(pepper)).update(presented).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
