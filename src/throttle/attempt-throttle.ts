import { createHash } from 'node:crypto';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { scaled, waitSecondsAfter, type ThrottlePolicy } from './throttle-policy.ts';

/** One throttled subject: a name (`login:account`, `login:ip` …), a value and its policy. */
export type ThrottleKey = { scope: string; value: string; policy: ThrottlePolicy };

/**
 * Counts attempts per key in the short-lived store (Redis, or Postgres without it) and holds a
 * "wait until" mark once a key has to wait. Key values are hashed: no email or IP in storage keys.
 * Every storage operation touches one key (Redis Cluster safe).
 */
export function createAttemptThrottle(deps: { store: ShortLivedStore; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const id = (key: ThrottleKey) => `throttle:${key.scope}:${createHash('sha256').update(key.value).digest('base64url')}`;

  return {
    /** Seconds until the first of these keys may try again; 0 when all may. */
    async retryAfterSeconds(keys: ThrottleKey[]): Promise<number> {
      const marks = await Promise.all(keys.map((key) => deps.store.get(`${id(key)}:until`)));
      const until = Math.max(0, ...marks.map((m) => Number(m ?? 0)));
      return Math.max(0, Math.ceil((until - now()) / 1000));
    },

    /** Counts one attempt against each key; a key past its free attempts gets a wait mark. */
    async count(keys: ThrottleKey[]): Promise<void> {
      await Promise.all(
        keys.map(async (key) => {
          const attempts = await deps.store.increment(`${id(key)}:n`, key.policy.windowSeconds);
          const wait = waitSecondsAfter(attempts, key.policy);
          if (wait > 0) await deps.store.set(`${id(key)}:until`, String(now() + wait * 1000), wait);
        }),
      );
    },

    /** Forgets a key's attempts (an account after a successful sign-in). */
    async reset(key: ThrottleKey): Promise<void> {
      await Promise.all([deps.store.delete(`${id(key)}:n`), deps.store.delete(`${id(key)}:until`)]);
    },
  };
}

export type AttemptThrottle = ReturnType<typeof createAttemptThrottle>;

/** The sign-in policies from the LOGIN_THROTTLE_* settings: per email, and `ipFactor` times looser per IP. */
export function createSignInThrottle(
  settings: { freeAttempts: number; blockAfter: number; blockSeconds: number; ipFactor: number },
  store: ShortLivedStore,
) {
  const account: ThrottlePolicy = {
    freeAttempts: settings.freeAttempts,
    blockAfter: settings.blockAfter,
    blockSeconds: settings.blockSeconds,
    maxDelaySeconds: 60,
    windowSeconds: Math.max(3600, settings.blockSeconds),
  };
  return { throttle: createAttemptThrottle({ store }), account, ip: scaled(account, settings.ipFactor) };
}
