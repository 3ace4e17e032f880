import type { Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AccountSignIns } from './adapters/account-sign-ins.ts';

type LogoutClient = {
  clientId: string;
  backchannelLogoutUri?: string;
  backchannelLogoutSessionRequired?: boolean;
  backchannelLogout(sub: string, sid?: string): Promise<void>;
};

export type BackchannelLogout = {
  /**
   * Reads whom to tell before an account's sessions and grants are deleted; `send()` afterwards
   * posts the logout tokens. For sign-out everywhere and account deletion (RP-initiated logout at
   * /session/end is oidc-provider's own).
   */
  prepare(accountId: string): Promise<{ send(): Promise<{ sent: number; failed: number }> }>;
};

/**
 * OIDC Back-Channel Logout 1.0 §2.5, for the sign-outs that do not go through /session/end: every
 * client with a `backchannel_logout_uri` that the account has a session or a grant with gets a
 * logout token (signed by the current Provider's keys, `events` with the back-channel logout
 * event, `sub`, and `sid` for a client that requires it: one per session). Posted through the
 * engine's own client method, so over the same SSRF-checked fetch and with the same 2.5 s limit;
 * a client that cannot be reached is logged and audited, never an error for the sign-out.
 */
export function createBackchannelLogout(deps: {
  provider: () => Promise<Provider>;
  signInsOf: (accountId: string) => Promise<AccountSignIns>;
  audit: Pick<AuditLog, 'recordSoon'>;
  logger: Logger;
}): BackchannelLogout {
  return {
    async prepare(accountId) {
      const { sessions, grantClientIds } = await deps.signInsOf(accountId);
      const sids = new Map<string, Set<string>>();
      for (const { clientId, sid } of sessions) sids.set(clientId, (sids.get(clientId) ?? new Set()).add(sid));
      for (const clientId of grantClientIds) if (!sids.has(clientId)) sids.set(clientId, new Set());
      return {
        async send() {
          const provider = await deps.provider(); // the serving one: after a key rotation, the new keys sign
          const deliveries: { client: LogoutClient; sid?: string }[] = [];
          for (const [clientId, clientSids] of sids) {
            const client = (await provider.Client.find(clientId)) as unknown as LogoutClient | undefined;
            if (!client?.backchannelLogoutUri) continue;
            // A client that requires sid gets one token per session (§2.4); otherwise one, for the subject.
            if (client.backchannelLogoutSessionRequired) for (const sid of clientSids) deliveries.push({ client, sid });
            else deliveries.push({ client });
          }
          const results = await Promise.allSettled(deliveries.map(({ client, sid }) => client.backchannelLogout(accountId, sid)));
          let failed = 0;
          results.forEach((result, i) => {
            const { clientId } = deliveries[i]!.client;
            if (result.status === 'rejected') {
              failed += 1;
              deps.logger.warn({ clientId, err: (result.reason as Error).message }, 'back-channel logout failed');
            }
            deps.audit.recordSoon({ type: result.status === 'fulfilled' ? 'backchannel_logout.sent' : 'backchannel_logout.failed', clientId, accountId });
          });
          return { sent: deliveries.length - failed, failed };
        },
      };
    },
  };
}
