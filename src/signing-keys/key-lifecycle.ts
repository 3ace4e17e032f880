import type { SigningKeyStatus } from './signing-key-repository.ts';

export type KeyState = {
  kid: string;
  status: SigningKeyStatus;
  createdAt: Date;
  activatedAt: Date | null;
  activatesAt: Date | null;
  retiredAt: Date | null;
};

export type KeyPolicy = {
  /** A new key signs this long after the previous one started. */
  rotationIntervalSeconds: number;
  /** How long resource servers may cache the JWKS (its Cache-Control max-age). */
  jwksMaxAgeSeconds: number;
  /** The longest lifetime of anything we sign (access tokens of any API, ID tokens). */
  maxTokenTtlSeconds: number;
  /** oidc-provider's clockTolerance and the resource servers' skew allowance. */
  clockSkewSeconds: number;
};

export type KeyStep =
  | { kind: 'create-next'; activatesAt: Date }
  | { kind: 'activate'; kid: string }
  | { kind: 'retire'; kid: string }
  | { kind: 'remove'; kid: string };

// Margin for every instance to pick up a published key (notices arrive in well under a second;
// the fallback poll is 30 s) before resource servers' caches start their countdown.
const PROPAGATION_SECONDS = 60;

/** A new key must be published this long before it may sign: every cached JWKS will have it. */
export const announceSeconds = (p: KeyPolicy) => p.jwksMaxAgeSeconds + PROPAGATION_SECONDS;

/** A retired key stays published until everything it signed has expired, and caches forgot it. */
export const retainSeconds = (p: KeyPolicy) => p.maxTokenTtlSeconds + p.clockSkewSeconds + PROPAGATION_SECONDS;

const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

/**
 * What the rotation schedule should do now: a pure function of the keys, the clock and the
 * policy, so every rule is unit-tested and the store only applies the steps under its lock.
 */
export function planKeySteps(keys: KeyState[], now: Date, policy: KeyPolicy): KeyStep[] {
  const steps: KeyStep[] = [];
  const active = keys.find((k) => k.status === 'active');
  const next = keys.filter((k) => k.status === 'next').sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0];

  if (next?.activatesAt && next.activatesAt <= now) {
    steps.push({ kind: 'activate', kid: next.kid });
  } else if (!next && active) {
    const dueAt = plus(active.activatedAt ?? active.createdAt, policy.rotationIntervalSeconds - announceSeconds(policy));
    if (dueAt <= now) steps.push({ kind: 'create-next', activatesAt: plus(now, announceSeconds(policy)) });
  }
  for (const k of keys) {
    if (k.status === 'retired' && k.retiredAt && plus(k.retiredAt, retainSeconds(policy)) <= now) {
      steps.push({ kind: 'remove', kid: k.kid });
    }
  }
  return steps;
}

/**
 * The steps for one algorithm's keys. An algorithm some API chose but with no key yet gets one
 * announced like any rotation (its tokens are signed with it once every cached JWKS has it;
 * RS256 until then). An algorithm no API uses any more has its key retired (published until its
 * tokens expired) and an announced one dropped (it never signed).
 */
export function planAlgorithmSteps(keys: KeyState[], now: Date, policy: KeyPolicy, isInUse: boolean): KeyStep[] {
  if (isInUse) {
    const hasKey = keys.some((k) => k.status === 'active' || k.status === 'next');
    return hasKey ? planKeySteps(keys, now, policy) : [{ kind: 'create-next', activatesAt: plus(now, announceSeconds(policy)) }];
  }
  const steps: KeyStep[] = [];
  for (const k of keys) {
    if (k.status === 'active') steps.push({ kind: 'retire', kid: k.kid });
    else if (k.status === 'next') steps.push({ kind: 'remove', kid: k.kid });
  }
  return [
    ...steps,
    ...planKeySteps(
      keys.filter((k) => k.status === 'retired'),
      now,
      policy,
    ),
  ];
}
