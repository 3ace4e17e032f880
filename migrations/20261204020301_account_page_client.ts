import type { Knex } from 'knex';

// The account page's built-in client (src/clients/built-in-clients.ts) is a static client of the
// engine, but users' grants (sign_in_grants) refer to their client by a foreign key: this row
// anchors them, as a metadata document client's row does. Only client_id and the marker: the
// engine never reads it (client-adapter.ts), and the client service hides it from operators.
export async function up(knex: Knex): Promise<void> {
  await knex('clients')
    .insert({ client_id: 'gatehouse-account', metadata: JSON.stringify({ client_id: 'gatehouse-account', client_name: 'Gatehouse account', built_in: true }) })
    .onConflict('client_id')
    .ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('clients').where({ client_id: 'gatehouse-account' }).delete();
}
