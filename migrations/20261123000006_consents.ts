import type { Knex } from 'knex';

// What each user has allowed each client, remembered across sessions so they are not asked again
// (issue 4). Kept apart from oidc-provider's Grants: signing out revokes a session's grants
// (end_session), but not the user's decision. Deleting the account or the client forgets it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('consents', (t) => {
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.text('oidc_scope').notNullable().defaultTo(''); // space-separated, as on the wire
    t.jsonb('oidc_claims').notNullable().defaultTo('[]');
    t.jsonb('resource_scopes').notNullable().defaultTo('{}'); // { "<resource>": "a b" }
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['account_id', 'client_id']);
    t.index(['client_id'], 'consents_client_id_idx'); // for the cascade when a client is deleted
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('consents');
}
