import type { SignInRefusal } from './sign-in-gate.ts';

/**
 * What one password sign-in or sign-up came to, as the route that handled it knows it. Routes
 * report it here; observers (metrics, the audit trail: sign-in-observer.ts) subscribe. Nothing
 * travels between them through ctx.state.
 */
export type SignInOutcome = {
  form: 'login' | 'signup';
  /** `refused`: the right password for an account that may not sign in (disabled, unverified). */
  result: 'success' | 'failure' | 'throttled' | 'refused';
  /** As typed (a failure's address may be a typo, or a password in the wrong field). */
  email: string;
  /** The account, when the route had it (a failure has none: unknown email and wrong password look alike). */
  accountId?: string;
  clientId?: string;
  ip: string;
  reason?: SignInRefusal;
};

export type SignInOutcomes = {
  report(outcome: SignInOutcome): void;
  subscribe(listener: (outcome: SignInOutcome) => void): void;
};

export function createSignInOutcomes(): SignInOutcomes {
  const listeners: ((outcome: SignInOutcome) => void)[] = [];
  return {
    report: (outcome) => {
      for (const listener of listeners) listener(outcome);
    },
    subscribe: (listener) => void listeners.push(listener),
  };
}
