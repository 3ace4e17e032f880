import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { accountIndexKey } from './redis-adapter.ts';
import type { SessionUse } from './session-use.ts';

/** One browser's Gatehouse session as stored; `ref` names it in storage, for `remove` only (never shown). */
export type StoredSession = SessionUse & {
  ref: string;
  uid: string;
  /** When the user signed in (the ID token's auth_time). */
  loginTs?: number;
  expiresAt?: number;
  /** Per client the session signed in to: its sid and grant (oidc-provider's `authorizations`). */
  authorizations: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
};

type Payload = SessionUse & {
  uid?: string;
  accountId?: string;
  loginTs?: number;
  exp?: number;
  authorizations?: StoredSession['authorizations'];
};

const SESSION_PREFIX = 'Session:';

/**
 * One account's sessions, read and removed as the adapters lay them out (a Redis set per account,
 * or Postgres rows with account_id), for the account page's list of browsers. The adapter API
 * cannot find entries by account (notes §10). Entries are stored under digests of their ids
 * (stored-entry.ts), so nothing here can name a session cookie; `ref` is that digest (or, for an
 * entry from before digests, its old key) and must not leave the server.
 */
export function createAccountSessions(deps: { knex: Knex; redis: Redis | undefined }) {
  const toSession = (ref: string, p: Payload, accountId: string): StoredSession | undefined => {
    if (p.accountId !== accountId || typeof p.uid !== 'string') return undefined; // re-used for another account: not theirs
    return {
      ref,
      uid: p.uid,
      loginTs: p.loginTs,
      lastUsedAt: p.lastUsedAt,
      browser: p.browser,
      system: p.system,
      expiresAt: p.exp,
      authorizations: p.authorizations ?? {},
    };
  };
  const live = (q: Knex.QueryBuilder) => q.where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', deps.knex.fn.now()));

  return {
    async list(accountId: string): Promise<StoredSession[]> {
      const found: StoredSession[] = [];
      if (deps.redis) {
        const keys = (await deps.redis.smembers(accountIndexKey(accountId))).filter((k) => k.startsWith(SESSION_PREFIX));
        // One key per command (Redis Cluster): the sessions live in other hash slots than the index.
        const jsons = await Promise.all(keys.map((key) => deps.redis!.hget(key, 'payload')));
        jsons.forEach((json, i) => {
          const session = json && toSession(keys[i]!.slice(SESSION_PREFIX.length), JSON.parse(json) as Payload, accountId);
          if (session) found.push(session);
        });
      } else {
        const rows = (await live(deps.knex('oidc_payloads').where({ model: 'Session', account_id: accountId })).select('id', 'payload')) as {
          id: string;
          payload: Payload;
        }[];
        for (const row of rows) {
          const session = toSession(row.id, row.payload, accountId);
          if (session) found.push(session);
        }
      }
      return found;
    },

    /** Deletes one of the account's sessions (the browser is signed out at its next request). False if it is not theirs or gone. */
    async remove(accountId: string, ref: string): Promise<boolean> {
      if (deps.redis) {
        const key = `${SESSION_PREFIX}${ref}`;
        // Only a session the account's own index lists, and that is still theirs.
        if (!(await deps.redis.sismember(accountIndexKey(accountId), key))) return false;
        const json = await deps.redis.hget(key, 'payload');
        if (!json || (JSON.parse(json) as Payload).accountId !== accountId) return false;
        // Its uid pointer is left to expire: it leads nowhere once the entry is gone.
        await deps.redis.unlink(key);
        await deps.redis.srem(accountIndexKey(accountId), key);
        return true;
      }
      return (await deps.knex('oidc_payloads').where({ model: 'Session', account_id: accountId, id: ref }).delete()) > 0;
    },
  };
}

export type AccountSessions = ReturnType<typeof createAccountSessions>;
