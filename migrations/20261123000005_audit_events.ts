import type { Knex } from 'knex';

// The audit trail: who did what, when, from where. Never secrets or tokens.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('type').notNullable();
    t.text('client_id');
    t.text('account_id');
    t.text('ip');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['occurred_at'], 'audit_events_occurred_at_idx');
    t.index(['type', 'occurred_at'], 'audit_events_type_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
}
