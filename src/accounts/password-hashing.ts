import argon2 from 'argon2';

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1. Changing these makes
// needsRehash true for older hashes, which are upgraded at the next successful sign-in.
export const ARGON2_PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, ARGON2_PARAMETERS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // a malformed stored hash is a failed sign-in, not a crash
  }
}

export const needsRehash = (hash: string) => argon2.needsRehash(hash, ARGON2_PARAMETERS);
