import { normalizeEmail } from '../accounts/account-service.ts';
import type { AttemptThrottle, ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';

export type SignInThrottle = {
  throttle: AttemptThrottle;
  /** Failed sign-ins per email (known or not: the answer must not tell them apart). */
  account: ThrottlePolicy;
  /** Failed sign-ins, and every sign-up, per client IP: looser, since many users may share one. */
  ip: ThrottlePolicy;
};

/** One sign-in or sign-up attempt, counted and decided before any password work. */
export type CountedAttempt = {
  isAllowed: boolean;
  retryAfterSeconds: number;
  /** The password was right: the email's count is cleared, and the attempt does not count for the IP. */
  succeeded(): Promise<void>;
  /** Nothing was checked after all (the server too busy, not a sign-in step): the attempt is given back. */
  unchecked(): Promise<void>;
};

const NOT_THROTTLED: CountedAttempt = { isAllowed: true, retryAfterSeconds: 0, succeeded: async () => {}, unchecked: async () => {} };

/**
 * Brute-force defence of the password forms. The attempt is counted and decided in one step per
 * key (email and IP), so of N concurrent attempts no more than the allowance is checked; past
 * it the route answers 429 with Retry-After, the same for a known and an unknown email, so a
 * blocked account cannot sign in with the right password either. A failure stays counted.
 */
export function createSignInAttempts(t: SignInThrottle | undefined) {
  const counted = async (keys: ThrottleKey[], ipScope: string): Promise<CountedAttempt> => {
    if (!t) return NOT_THROTTLED;
    const attempt = await t.throttle.take(keys);
    return {
      isAllowed: attempt.isAllowed,
      retryAfterSeconds: attempt.retryAfterSeconds,
      succeeded: async () => {
        await Promise.all([...keys.filter((k) => k.scope !== ipScope).map((k) => t.throttle.reset(k)), t.throttle.giveBack(attempt, [ipScope])]);
      },
      unchecked: () => t.throttle.giveBack(attempt),
    };
  };
  return {
    login: (email: string, ip: string) =>
      counted(
        t
          ? [
              { scope: 'login:account', value: normalizeEmail(email), policy: t.account },
              { scope: 'login:ip', value: ip, policy: t.ip },
            ]
          : [],
        'login:ip',
      ),
    /** Every sign-up counts per IP (creating accounts in bulk is the abuse): only `unchecked` gives one back. */
    signup: (ip: string) => counted(t ? [{ scope: 'signup:ip', value: ip, policy: t.ip }] : [], 'signup:ip'),
  };
}

export type SignInAttempts = ReturnType<typeof createSignInAttempts>;
