import type { Knex } from 'knex';

// Small expiring key-value entries (refresh grace responses, later rate limits and revocation
// marks) for deployments without Redis. With Redis they live there instead. Swept by expiry.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('short_lived_entries', (t) => {
    t.text('key').primary();
    t.text('value').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at'], 'short_lived_entries_expires_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('short_lived_entries');
}
