import type { Knex } from 'knex';

// Which oidc-provider Grants belong to which user and client (storage growth, faults issue):
// every sign-in in a new session used to make a Grant (a row living session + refresh lifetime,
// 104 days), so the grants table was bounded only by traffic × TTL. Now sign-ins without
// offline_access share one grant per user and client (is_offline false: at most one), and each
// offline sign-in's grant — its refresh-token family — is listed here so that only the newest
// few per user and client are kept (src/oidc/sign-in-grants.ts). Only ids: the grants themselves
// stay in oidc_payloads. Deleting the account or the client forgets its rows.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sign_in_grants', (t) => {
    t.text('grant_id').primary();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.boolean('is_offline').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['account_id', 'client_id', 'created_at'], 'sign_in_grants_account_client_idx');
    t.index(['client_id'], 'sign_in_grants_client_id_idx'); // for the cascade when a client is deleted
  });
  await knex.raw('create unique index sign_in_grants_one_shared on sign_in_grants (account_id, client_id) where not is_offline');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sign_in_grants');
}
