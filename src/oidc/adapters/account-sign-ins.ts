import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { accountIndexKey } from './redis-adapter.ts';

type SessionPayload = { authorizations?: Record<string, { sid?: string }> };

/** Which clients an account is signed in to: per session, the client and its `sid`; and the clients it holds grants with. */
export type AccountSignIns = { sessions: { clientId: string; sid: string }[]; grantClientIds: string[] };

/**
 * Reads, as the adapters lay them out, every session of one account (a Redis set per account, or
 * Postgres rows with account_id) and its grants (Postgres), so that the clients can be told of a
 * sign-out before those records are deleted (back-channel logout).
 */
export function createAccountSignIns(deps: { knex: Knex; redis: Redis | undefined }) {
  return async (accountId: string): Promise<AccountSignIns> => {
    const payloads: SessionPayload[] = [];
    if (deps.redis) {
      const keys = (await deps.redis.smembers(accountIndexKey(accountId))).filter((k) => k.startsWith('Session:'));
      // One key per command (Redis Cluster): the sessions live in other hash slots than the index.
      const jsons = await Promise.all(keys.map((key) => deps.redis!.hget(key, 'payload')));
      for (const json of jsons) if (json) payloads.push(JSON.parse(json) as SessionPayload);
    } else {
      const rows = await deps.knex('oidc_payloads').where({ model: 'Session', account_id: accountId }).select('payload');
      for (const row of rows as { payload: SessionPayload }[]) payloads.push(row.payload);
    }
    const sessions = payloads.flatMap((p) =>
      Object.entries(p.authorizations ?? {}).flatMap(([clientId, a]) => (typeof a?.sid === 'string' ? [{ clientId, sid: a.sid }] : [])),
    );
    const grants = await deps
      .knex('oidc_payloads')
      .where({ model: 'Grant', account_id: accountId })
      .distinct(deps.knex.raw("payload->>'clientId' as client_id"));
    return { sessions, grantClientIds: (grants as { client_id: string | null }[]).flatMap((g) => (g.client_id ? [g.client_id] : [])) };
  };
}
