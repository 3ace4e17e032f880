import type { Consent, ConsentRepository } from './consent-repository.ts';

export type { Consent };

export const EMPTY_CONSENT: Consent = Object.freeze({ oidcScopes: [], oidcClaims: [], resourceScopes: {} });

const union = (a: string[] = [], b: string[] = []) => [...new Set([...a, ...b])];
const both = (a: string[] = [], b: string[] = []) => a.filter((x) => b.includes(x));

export function mergeConsents(a: Consent, b: Consent): Consent {
  const resources = union(Object.keys(a.resourceScopes), Object.keys(b.resourceScopes));
  return {
    oidcScopes: union(a.oidcScopes, b.oidcScopes),
    oidcClaims: union(a.oidcClaims, b.oidcClaims),
    resourceScopes: Object.fromEntries(resources.map((r) => [r, union(a.resourceScopes[r], b.resourceScopes[r])])),
  };
}

/** What is in both: of what a request is missing, the part the user already allowed. */
export function intersectConsents(a: Consent, b: Consent): Consent {
  const resourceScopes: Record<string, string[]> = {};
  for (const [r, scopes] of Object.entries(a.resourceScopes)) {
    const common = both(scopes, b.resourceScopes[r]);
    if (common.length) resourceScopes[r] = common;
  }
  return { oidcScopes: both(a.oidcScopes, b.oidcScopes), oidcClaims: both(a.oidcClaims, b.oidcClaims), resourceScopes };
}

export const isEmptyConsent = (c: Consent) => !c.oidcScopes.length && !c.oidcClaims.length && Object.values(c.resourceScopes).every((s) => !s.length);

export function createConsentService(deps: { repository: ConsentRepository }) {
  return {
    /** What this user allowed this client in any earlier session, or undefined if nothing. */
    rememberedFor: (accountId: string, clientId: string) => deps.repository.find(accountId, clientId),

    /** The clients the user allowed anything, in any earlier session. */
    clientsOf: (accountId: string) => deps.repository.clientIdsFor(accountId),

    /** Forgets the user's decisions for the client (access revoked on the account page): it asks again. */
    forget: (accountId: string, clientId: string) => deps.repository.delete(accountId, clientId),

    /**
     * Adds a decision to what is remembered; never removes anything. Two consents racing for the
     * same user and client may keep only one's additions: the user is then asked once more.
     */
    async remember(accountId: string, clientId: string, allowed: Consent): Promise<void> {
      if (isEmptyConsent(allowed)) return;
      const previous = (await deps.repository.find(accountId, clientId)) ?? EMPTY_CONSENT;
      await deps.repository.upsert(accountId, clientId, mergeConsents(previous, allowed));
    },
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
