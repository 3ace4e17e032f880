import type { ScopeLine } from '../../views/consent.ts';

const STANDARD: Record<string, string> = {
  openid: 'Know who you are (your account identifier)',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay connected while you are away (it can refresh its access without asking you again)',
};

/** Consent lines in plain words: standard scopes described, API scopes named with their API. */
export function describeScopes(oidcScopes: string[], resourceScopes: Record<string, string[]>): ScopeLine[] {
  const lines: ScopeLine[] = oidcScopes.map((s) => ({ text: STANDARD[s] ?? s }));
  for (const [resource, scopes] of Object.entries(resourceScopes)) {
    for (const s of scopes) lines.push({ text: `Use “${s}” on ${resource}`, detail: 'an API this app calls for you' });
  }
  return lines;
}
