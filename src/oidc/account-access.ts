import type { Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { ACCOUNT_CLIENT_ID } from '../clients/built-in-clients.ts';
import type { ClientService } from '../clients/client-service.ts';
import { isStandardScope } from '../clients/standard-scopes.ts';
import type { ConsentService } from '../consents/consent-service.ts';
import type { SignInGrantRepository } from '../consents/sign-in-grant-repository.ts';
import type { AccountGrants } from './adapters/account-grants.ts';
import type { AccountSessions, StoredSession } from './adapters/account-sessions.ts';
import { isPlausibleId } from './adapters/input-guard.ts';
import { revokeGrant } from './revoke-grant.ts';

/** A browser's session as the account page lists it. `ref` is the storage handle: the HTTP layer seals it before it reaches a page. */
export type SessionView = {
  ref: string;
  uid: string;
  browser?: string;
  system?: string;
  signedInAt?: Date;
  lastUsedAt?: Date;
  clients: { clientId: string; name: string }[];
};
/** An application the user let in: what it may ask for without asking again, and whether it stays connected (refresh tokens). */
export type AppView = { clientId: string; name: string; oidcScopes: string[]; resourceScopes: Record<string, string[]>; isOffline: boolean };

type LogoutClient = { clientId: string; backchannelLogoutUri?: string; backchannelLogout(sub: string, sid?: string): Promise<void> };

const at = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000) : undefined);
const add = (into: Map<string, Set<string>>, key: string, values: Iterable<string>) => {
  const set = into.get(key) ?? new Set<string>();
  for (const v of values) if (v) set.add(v);
  into.set(key, set);
};

/**
 * The engine's records of one account, for the account page: its browsers' sessions and the
 * applications holding grants or remembered consent. Ending a session does what /session/end does
 * for it (end_session.js): back-channel logout to its clients, its grants revoked unless they
 * carry refresh tokens (persistsLogout), the session gone. Revoking an application ends all of it
 * at once: every grant of the user at that client (the shared one and each offline sign-in's:
 * sign-in-grants.ts) with its refresh tokens, codes and opaque tokens, a `grant` revocation event
 * per grant so its JWT access tokens are refused within a poll of the feed, and the remembered
 * consent, so that its next sign-in asks again.
 */
export function createAccountAccess(deps: {
  provider: () => Promise<Provider>;
  sessions: AccountSessions;
  grantsOf: AccountGrants;
  signInGrants: Pick<SignInGrantRepository, 'listFor' | 'remove'>;
  consents: Pick<ConsentService, 'rememberedFor' | 'clientsOf' | 'forget'>;
  clients: Pick<ClientService, 'findMetadata'>;
  audit: Pick<AuditLog, 'record' | 'recordSoon'>;
  logger: Logger;
}) {
  // From our own client records (cached): a metadata document client's name without fetching its document.
  const nameOf = async (clientId: string) => {
    const metadata = await deps.clients.findMetadata(clientId).catch(() => undefined);
    return typeof metadata?.client_name === 'string' && metadata.client_name ? metadata.client_name : clientId;
  };
  const shown = (clientId: string) => clientId !== ACCOUNT_CLIENT_ID;

  const endStored = async (accountId: string, session: StoredSession): Promise<void> => {
    const provider = await deps.provider();
    const entries = Object.entries(session.authorizations);
    // OIDC Back-Channel Logout 1.0 §2.5: each client of this session, with this session's sid.
    await Promise.all(
      entries.map(async ([clientId, { sid }]) => {
        const client = (await provider.Client.find(clientId).catch(() => undefined)) as unknown as LogoutClient | undefined;
        if (!client?.backchannelLogoutUri) return;
        try {
          await client.backchannelLogout(accountId, sid);
          deps.audit.recordSoon({ type: 'backchannel_logout.sent', clientId, accountId });
        } catch (err) {
          deps.logger.warn({ clientId, err: (err as Error).message }, 'back-channel logout failed');
          deps.audit.recordSoon({ type: 'backchannel_logout.failed', clientId, accountId });
        }
      }),
    );
    for (const [, { grantId, persistsLogout }] of entries) if (grantId && !persistsLogout) await revokeGrant(provider, grantId);
    await deps.sessions.remove(accountId, session.ref);
  };

  return {
    /** Most recently used first. */
    async sessions(accountId: string): Promise<SessionView[]> {
      const stored = await deps.sessions.list(accountId);
      const views = await Promise.all(
        stored.map(async (s) => ({
          ref: s.ref,
          uid: s.uid,
          browser: s.browser,
          system: s.system,
          signedInAt: at(s.loginTs),
          lastUsedAt: at(s.lastUsedAt ?? s.loginTs),
          clients: await Promise.all(
            Object.keys(s.authorizations)
              .filter(shown)
              .map(async (clientId) => ({ clientId, name: await nameOf(clientId) })),
          ),
        })),
      );
      return views.sort((a, b) => (b.lastUsedAt?.getTime() ?? 0) - (a.lastUsedAt?.getTime() ?? 0));
    },

    /** Signs one browser out (it is asked to sign in at its next request). False if no such session of theirs. */
    async endSession(accountId: string, ref: string, ip?: string): Promise<boolean> {
      const session = (await deps.sessions.list(accountId)).find((s) => s.ref === ref);
      if (!session) return false;
      await endStored(accountId, session);
      await deps.audit.record({ type: 'session.ended', accountId, ip, details: { via: 'account_page' } });
      return true;
    },

    async apps(accountId: string): Promise<AppView[]> {
      const provider = await deps.provider();
      const grants = (await deps.grantsOf(accountId)).filter((g) => shown(g.clientId));
      const clientIds = [...new Set([...grants.map((g) => g.clientId), ...(await deps.consents.clientsOf(accountId)).filter(shown)])];
      const apps = await Promise.all(
        clientIds.map(async (clientId): Promise<AppView> => {
          const oidc = new Set<string>();
          const resources = new Map<string, Set<string>>();
          for (const { grantId } of grants.filter((g) => g.clientId === clientId)) {
            const grant = await provider.Grant.find(grantId);
            if (!grant || grant.accountId !== accountId) continue;
            for (const s of grant.getOIDCScope().split(' ')) if (s) oidc.add(s);
            for (const [resource, scope] of Object.entries(grant.resources ?? {})) add(resources, resource, scope.split(' '));
          }
          const remembered = await deps.consents.rememberedFor(accountId, clientId);
          for (const s of remembered?.oidcScopes ?? []) oidc.add(s);
          for (const [resource, scopes] of Object.entries(remembered?.resourceScopes ?? {})) add(resources, resource, scopes);
          return {
            clientId,
            name: await nameOf(clientId),
            oidcScopes: [...oidc].filter(isStandardScope),
            resourceScopes: Object.fromEntries([...resources].filter(([, s]) => s.size).map(([r, s]) => [r, [...s]])),
            isOffline: oidc.has('offline_access'),
          };
        }),
      );
      return apps.sort((a, b) => a.name.localeCompare(b.name));
    },

    /** Takes an application's access away (see above). How many grants it held. */
    async revokeApp(accountId: string, clientId: string, ip?: string): Promise<{ grants: number }> {
      if (!shown(clientId) || !isPlausibleId(clientId)) return { grants: 0 }; // a NUL would reach Postgres as a driver error
      const provider = await deps.provider();
      const ids = new Set([
        ...(await deps.grantsOf(accountId)).filter((g) => g.clientId === clientId).map((g) => g.grantId),
        ...(await deps.signInGrants.listFor(accountId, clientId)),
      ]);
      let revoked = 0;
      for (const grantId of ids) {
        const grant = await provider.Grant.find(grantId);
        if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) continue;
        await revokeGrant(provider, grantId);
        revoked += 1;
      }
      await deps.signInGrants.remove([...ids]);
      const hadConsent = await deps.consents.forget(accountId, clientId);
      await deps.audit.record({ type: 'consent.revoked', accountId, clientId, ip, details: { grants: revoked, had_consent: hadConsent, via: 'account_page' } });
      return { grants: revoked };
    },
  };
}

export type AccountAccess = ReturnType<typeof createAccountAccess>;
