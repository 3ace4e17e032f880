import type { Knex } from 'knex';

// `gatehouse audit --client / --account` and the admin API filter by who; token issuance makes
// the table large, so those filters get their own indexes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.index(['client_id', 'occurred_at'], 'audit_events_client_idx');
    t.index(['account_id', 'occurred_at'], 'audit_events_account_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropIndex([], 'audit_events_client_idx');
    t.dropIndex([], 'audit_events_account_idx');
  });
}
