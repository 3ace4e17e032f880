/**
 * How long a key (an account, an IP) must wait after its n-th counted attempt: nothing for the
 * first `freeAttempts`, then 1 s, 2 s, 4 s … (at most `maxDelaySeconds`), and from `blockAfter`
 * attempts on a block of `blockSeconds`. Attempts are counted in a window of `windowSeconds`
 * from the first one. The short-lived stores apply this rule atomically in their own language (a
 * Lua script, one SQL statement): the contract test keeps them in step with this function.
 */
export type ThrottlePolicy = Readonly<{
  freeAttempts: number;
  blockAfter: number;
  blockSeconds: number;
  maxDelaySeconds: number;
  windowSeconds: number;
}>;

export function waitSecondsAfter(attempts: number, policy: ThrottlePolicy): number {
  if (attempts >= policy.blockAfter) return policy.blockSeconds;
  if (attempts < policy.freeAttempts) return 0;
  return Math.min(2 ** (attempts - policy.freeAttempts), policy.maxDelaySeconds);
}

/** The same shape, `factor` times as many attempts (a looser policy for an IP shared behind NAT). */
export function scaled(policy: ThrottlePolicy, factor: number): ThrottlePolicy {
  return { ...policy, freeAttempts: policy.freeAttempts * factor, blockAfter: policy.blockAfter * factor };
}

/**
 * `n` attempts an hour, with no wait between them, then none until the hour is over: for
 * registrations (and metadata document fetches, ten times as many) per address.
 */
export function perHour(n: number): ThrottlePolicy {
  return { freeAttempts: n, blockAfter: n, blockSeconds: 3600, maxDelaySeconds: 0, windowSeconds: 3600 };
}
