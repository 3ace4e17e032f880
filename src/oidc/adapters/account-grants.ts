import type { Knex } from 'knex';

/**
 * Every live Grant of one account, with its client: Grants live in Postgres whatever the setup
 * (adapter-for-model.ts), under their own id, with account_id indexed. For the account page's
 * "apps with access", which must also find grants no sign-in index lists (a session's own).
 */
export function createAccountGrants(knex: Knex) {
  return async (accountId: string): Promise<{ grantId: string; clientId: string }[]> => {
    const rows = (await knex('oidc_payloads')
      .where({ model: 'Grant', account_id: accountId })
      .where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
      .select('id', knex.raw("payload->>'clientId' as client_id"))) as { id: string; client_id: string | null }[];
    return rows.flatMap((r) => (r.client_id ? [{ grantId: r.id, clientId: r.client_id }] : []));
  };
}

export type AccountGrants = ReturnType<typeof createAccountGrants>;
