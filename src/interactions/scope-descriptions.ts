import type { ScopeLine } from '../../views/consent.ts';
import type { Messages } from '../i18n/messages.ts';

/** Consent lines in plain words: standard scopes described, API scopes named with their API. */
export function describeScopes(t: Messages, oidcScopes: string[], resourceScopes: Record<string, string[]>): ScopeLine[] {
  const standard: Record<string, string | undefined> = t.scopes.standard;
  const lines: ScopeLine[] = oidcScopes.map((s) => ({ text: standard[s] ?? s }));
  for (const [resource, scopes] of Object.entries(resourceScopes)) {
    for (const s of scopes) lines.push({ text: t.scopes.api(s, resource), detail: t.scopes.apiDetail });
  }
  return lines;
}
