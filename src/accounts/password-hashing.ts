import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { type ConcurrencyLimitSettings, createConcurrencyLimit } from '../throttle/concurrency-limit.ts';
import { hashProblem, hashScheme, verifyImportedHash } from './imported-hashes.ts';

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1. Changing these makes
// needsRehash true for older hashes, which are upgraded at the next successful sign-in.
export const ARGON2_PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** True for an argon2 hash with other parameters, and for every imported bcrypt or PBKDF2 hash. */
export const needsRehash = (hash: string) => hashScheme(hash) !== 'argon2' || argon2.needsRehash(hash, ARGON2_PARAMETERS);

/**
 * argon2 with a bound per process: one computation costs a core for ~50-100 ms and 19 MiB, so a
 * burst of sign-ins or sign-ups would otherwise pin every core (and starve the token endpoint).
 * Past `maxConcurrent` running and `maxQueued` waiting, hash and verify throw ServerBusy, before
 * any work: a known and an unknown email are refused alike. Every argon2 use on a request path
 * goes through one hasher (the account service's). Imported bcrypt and Django PBKDF2 hashes
 * (imported-hashes.ts) are verified through the same slots: their work is bounded alike.
 */
export function createPasswordHasher(limit: ConcurrencyLimitSettings = defaultArgon2Limit()) {
  const slots = createConcurrencyLimit(limit);
  return {
    hash: (password: string) => slots.run(() => argon2.hash(password, ARGON2_PARAMETERS)),
    verify: (hash: string, password: string) =>
      slots.run(async () => {
        try {
          // An argon2 hash out of bounds (imported) is refused before any work, like the others.
          if (hashScheme(hash) !== 'argon2') return await verifyImportedHash(hash, password);
          return hashProblem(hash) === undefined && (await argon2.verify(hash, password));
        } catch {
          return false; // a malformed stored hash is a failed sign-in, not a crash
        }
      }),
    needsRehash,
    load: slots.load,
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

/** For a process that was given no settings (the CLI, tests): every core, eight waiting per core. */
export const defaultArgon2Limit = (): ConcurrencyLimitSettings => {
  const cores = availableParallelism();
  return { maxConcurrent: cores, maxQueued: 8 * cores };
};
