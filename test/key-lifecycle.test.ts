import { describe, expect, it } from 'vitest';
import { announceSeconds, type KeyPolicy, type KeyState, planKeySteps, retainSeconds } from '../src/signing-keys/key-lifecycle.ts';

const policy: KeyPolicy = { rotationIntervalSeconds: 30 * 86_400, jwksMaxAgeSeconds: 600, maxTokenTtlSeconds: 3600, clockSkewSeconds: 15 };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const key = (kid: string, status: KeyState['status'], extra: Partial<KeyState> = {}): KeyState => ({
  kid,
  status,
  createdAt: t0,
  activatedAt: status === 'active' ? t0 : null,
  activatesAt: null,
  retiredAt: null,
  ...extra,
});

describe('signing-key lifecycle plan', () => {
  it('announces a next key early enough that it signs exactly one rotation interval after the active one', () => {
    const announceAt = policy.rotationIntervalSeconds - announceSeconds(policy);
    expect(planKeySteps([key('a', 'active')], at(announceAt - 1), policy)).toEqual([]);
    expect(planKeySteps([key('a', 'active')], at(announceAt), policy)).toEqual([{ kind: 'create-next', activatesAt: at(policy.rotationIntervalSeconds) }]);
  });

  it('waits at least the JWKS cache lifetime before a next key signs', () => {
    expect(announceSeconds(policy)).toBeGreaterThan(policy.jwksMaxAgeSeconds);
    const next = key('b', 'next', { activatesAt: at(700) });
    expect(planKeySteps([key('a', 'active'), next], at(699), policy)).toEqual([]);
    expect(planKeySteps([key('a', 'active'), next], at(700), policy)).toEqual([{ kind: 'activate', kid: 'b' }]);
  });

  it('never announces a second next key while one is pending', () => {
    const steps = planKeySteps([key('a', 'active'), key('b', 'next', { activatesAt: at(10 ** 9) })], at(10 ** 8), policy);
    expect(steps).toEqual([]);
  });

  it('keeps a retired key published until everything it signed has expired, then removes it', () => {
    const retired = key('old', 'retired', { retiredAt: at(0) });
    const keep = retainSeconds(policy);
    expect(keep).toBeGreaterThan(policy.maxTokenTtlSeconds + policy.clockSkewSeconds);
    expect(planKeySteps([key('a', 'active', { activatedAt: at(0) }), retired], at(keep - 1), policy)).toEqual([]);
    expect(planKeySteps([key('a', 'active', { activatedAt: at(0) }), retired], at(keep), policy)).toEqual([{ kind: 'remove', kid: 'old' }]);
  });
});
