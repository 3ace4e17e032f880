import { createHash } from 'node:crypto';
import type { AttemptDecision, ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { scaled, type ThrottlePolicy } from './throttle-policy.ts';

/** One throttled subject: a name (`login:account`, `login:ip` …), a value and its policy. */
export type ThrottleKey = { scope: string; value: string; policy: ThrottlePolicy };

/** One attempt as the throttle took it: allowed by every key, or refused (and then counted by none). */
export type TakenAttempt = {
  isAllowed: boolean;
  /** When refused: how long until the key that refused it lets the next attempt through. */
  retryAfterSeconds: number;
  taken: { key: ThrottleKey; decision: AttemptDecision }[];
};

/**
 * Attempts per key in the short-lived store (Redis, or Postgres without it). Each key's check and
 * count are one atomic step (takeAttempt), so of N concurrent attempts no more than the policy
 * allows are let through to the password check: the old "read the mark, check, then count" let
 * every one of a burst through before the first count landed. Key values are hashed: no email or
 * IP in storage keys. Every storage operation touches one key (Redis Cluster safe).
 */
export function createAttemptThrottle(deps: { store: ShortLivedStore }) {
  const id = (key: ThrottleKey) => `throttle:${key.scope}:${createHash('sha256').update(key.value).digest('base64url')}:attempts`;
  const giveBack = (attempt: TakenAttempt, scopes?: string[]) =>
    Promise.all(
      attempt.taken.filter(({ key }) => !scopes || scopes.includes(key.scope)).map(({ key, decision }) => deps.store.returnAttempt(id(key), decision)),
    ).then(() => undefined);

  return {
    /**
     * Counts one attempt against the keys and decides it, before any work is done: key by key, the
     * most specific first (the email, then the IP), stopping at the first that refuses, whose wait
     * is the answer. The keys that had counted it get it back, so a refused attempt costs nothing
     * anywhere: a burst at one blocked email does not use up (or block) its IP, nor the reverse.
     */
    async take(keys: ThrottleKey[]): Promise<TakenAttempt> {
      const taken: TakenAttempt['taken'] = [];
      for (const key of keys) {
        const decision = await deps.store.takeAttempt(id(key), key.policy);
        if (decision.isAllowed) {
          taken.push({ key, decision });
          continue;
        }
        const refused = { isAllowed: false, retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)), taken };
        await giveBack(refused);
        return refused;
      }
      return { isAllowed: true, retryAfterSeconds: 0, taken };
    },

    /** Un-counts an allowed attempt on its keys (or only on those `scopes`): it was not checked after all, or it must not count. */
    giveBack,

    /** Forgets a key's attempts (an account after a successful sign-in). */
    async reset(key: ThrottleKey): Promise<void> {
      await deps.store.delete(id(key));
    },
  };
}

export type AttemptThrottle = ReturnType<typeof createAttemptThrottle>;

/** The sign-in policies from the LOGIN_THROTTLE_* settings: per email, and `ipFactor` times looser per IP. */
export function createSignInThrottle(settings: { freeAttempts: number; blockAfter: number; blockSeconds: number; ipFactor: number }, store: ShortLivedStore) {
  const account: ThrottlePolicy = {
    freeAttempts: settings.freeAttempts,
    blockAfter: settings.blockAfter,
    blockSeconds: settings.blockSeconds,
    maxDelaySeconds: 60,
    windowSeconds: Math.max(3600, settings.blockSeconds),
  };
  return { throttle: createAttemptThrottle({ store }), account, ip: scaled(account, settings.ipFactor) };
}
