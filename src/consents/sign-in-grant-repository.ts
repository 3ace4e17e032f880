import type { Knex } from 'knex';

type Row = { grant_id: string; account_id: string; client_id: string; is_offline: boolean; created_at: Date };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which grants a user's sign-ins at a client hold (migration 20261204000102): ids only. */
export function createSignInGrantRepository(knex: Knex) {
  return {
    /** Whether the grant is one we listed, and which kind. */
    async find(grantId: string): Promise<{ isOffline: boolean } | undefined> {
      const row = await knex<Row>('sign_in_grants').select('is_offline').where({ grant_id: grantId }).first();
      return row && { isOffline: row.is_offline };
    },
    /** The grant sign-ins without offline_access share, if one was recorded. */
    async findShared(accountId: string, clientId: string): Promise<string | undefined> {
      if (!UUID.test(accountId)) return undefined;
      const row = await knex<Row>('sign_in_grants').select('grant_id').where({ account_id: accountId, client_id: clientId, is_offline: false }).first();
      return row?.grant_id;
    },
    /** Records the shared grant, replacing the one before (gone, or lost to a concurrent sign-in). */
    async setShared(accountId: string, clientId: string, grantId: string): Promise<void> {
      await knex.raw(
        `insert into sign_in_grants (grant_id, account_id, client_id, is_offline) values (?, ?, ?, false)
         on conflict (account_id, client_id) where not is_offline do update set grant_id = excluded.grant_id, created_at = now()`,
        [grantId, accountId, clientId],
      );
    },
    async addOffline(accountId: string, clientId: string, grantId: string): Promise<void> {
      await knex('sign_in_grants').insert({ grant_id: grantId, account_id: accountId, client_id: clientId, is_offline: true });
    },
    /** The offline sign-ins' grants of this user at this client, newest first. */
    async listOffline(accountId: string, clientId: string): Promise<string[]> {
      const rows = await knex<Row>('sign_in_grants')
        .select('grant_id')
        .where({ account_id: accountId, client_id: clientId, is_offline: true })
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'grant_id', order: 'desc' },
        ]);
      return rows.map((r) => r.grant_id);
    },
    /** Every grant listed for this user at this client, shared and offline. */
    async listFor(accountId: string, clientId: string): Promise<string[]> {
      if (!UUID.test(accountId)) return [];
      return (await knex<Row>('sign_in_grants').select('grant_id').where({ account_id: accountId, client_id: clientId })).map((r) => r.grant_id);
    },
    async remove(grantIds: string[]): Promise<void> {
      if (grantIds.length) await knex('sign_in_grants').whereIn('grant_id', grantIds).delete();
    },
  };
}

export type SignInGrantRepository = ReturnType<typeof createSignInGrantRepository>;
